//! CPU time of a process, for the benches' "CPU during the run" lines.

/// User + system CPU seconds `pid` has used so far (Linux `/proc`; `None` elsewhere).
#[cfg(target_os = "linux")]
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| ticks / hz as f64)
}

#[cfg(not(target_os = "linux"))]
pub fn cpu_secs(_pid: u32) -> Option<f64> {
    None
}
