//! The built `replaydesk` binary as real OS processes: `serve`, `deliver` and `im-emulator`,
//! each started the way an operator would, and stopped by a signal. One place for the
//! spawning code of every test that runs them (`server_sigterm`, `secrets_in_logs`,
//! `delivery_crash`, `emulator`, `chaos`, `sandbox_restart`, `local_access`).
//!
//! Everything here acts on the child process only (its environment, working directory,
//! umask and signals), never on the test process, which runs every test at once.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test, built by cargo for the integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_replaydesk");

/// How long a process may take to say it is listening (a cold start on a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A `replaydesk serve` child, killed if the test ends early.
pub struct Served {
    pub child: Child,
    /// `http://ADDR` it listens on.
    pub base: String,
    /// Every line it wrote (stdout and stderr), when asked for with `keep_log`.
    pub log: Arc<Mutex<String>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Served {
    /// The address part of [`Served::base`] (to start again on the same port).
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Everything logged so far (empty unless started with `keep_log`).
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

/// How to start `replaydesk serve`.
pub struct ServeCommand<'a> {
    /// Working directory (a `replaydesk.toml` there would be read; tests use a temp dir).
    pub dir: &'a Path,
    pub db: &'a Path,
    /// `--listen`; `127.0.0.1:0` picks a free port.
    pub listen: String,
    /// `REPLAYDESK_*` and other variables; `REPLAYDESK_LOG_FORMAT=json` and `RUST_LOG=info`
    /// are set first, so these can override `RUST_LOG`.
    pub env: Vec<(String, String)>,
    /// Keep every log line in [`Served::log`] (a long run should not).
    pub keep_log: bool,
    /// The child's umask, when the test needs a known one (see [`with_umask`]).
    pub umask: Option<libc::mode_t>,
}

impl<'a> ServeCommand<'a> {
    pub fn new(dir: &'a Path, db: &'a Path) -> Self {
        Self {
            dir,
            db,
            listen: "127.0.0.1:0".into(),
            env: Vec::new(),
            keep_log: false,
            umask: None,
        }
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    pub fn listen(mut self, addr: &str) -> Self {
        self.listen = addr.to_owned();
        self
    }

    pub fn keep_log(mut self) -> Self {
        self.keep_log = true;
        self
    }

    pub fn umask(mut self, mask: libc::mode_t) -> Self {
        self.umask = Some(mask);
        self
    }

    /// Starts it and waits for its "replaydesk serving" log line; panics if it does not
    /// come within a minute.
    pub fn spawn(&self) -> Served {
        self.try_spawn()
            .unwrap_or_else(|e| panic!("replaydesk serve did not start: {e}"))
    }

    /// Starts it and waits for its "replaydesk serving" log line; the error says what it
    /// printed instead (for a caller that retries, e.g. while a killed server's port is
    /// still held).
    pub fn try_spawn(&self) -> Result<Served, String> {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", &self.listen, "--db"])
            .arg(self.db)
            .current_dir(self.dir)
            .env("REPLAYDESK_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(mask) = self.umask {
            with_umask(&mut cmd, mask);
        }
        let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
        let log = Arc::new(Mutex::new(String::new()));
        // The first lines, kept whatever keep_log says, to explain a failed start.
        let head = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        for stream in [
            Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stdout.take().unwrap()),
        ] {
            let (log, head, tx, keep) = (log.clone(), head.clone(), tx.clone(), self.keep_log);
            // Reads the log for the address, then keeps draining it so the child never
            // blocks on a full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(v) = serde_json::from_str::<Value>(&line) {
                        if v["fields"]["message"] == "replaydesk serving" {
                            let addr = v["fields"]["addr"].as_str().unwrap_or_default();
                            let _ = tx.send(addr.to_owned());
                        }
                    }
                    {
                        let mut head = head.lock().unwrap();
                        if head.len() < 8192 {
                            head.push_str(&line);
                            head.push('\n');
                        }
                    }
                    if keep {
                        let mut log = log.lock().unwrap();
                        log.push_str(&line);
                        log.push('\n');
                    }
                }
            });
        }
        drop(tx);
        let start = Instant::now();
        let addr = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(addr) => break addr,
                Err(mpsc::RecvTimeoutError::Timeout) if start.elapsed() < START_TIMEOUT => {
                    if let Ok(Some(status)) = child.try_wait() {
                        // Let the readers catch the last lines.
                        std::thread::sleep(Duration::from_millis(100));
                        return Err(format!("exited {status}: {}", head.lock().unwrap()));
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("no address logged: {}", head.lock().unwrap()));
                }
            }
        };
        Ok(Served {
            child,
            base: format!("http://{addr}"),
            log,
        })
    }
}

/// Starts `cmd` with umask `mask`: set in the child between fork and exec, because the
/// test process's own umask is shared by every test running beside it.
pub fn with_umask(cmd: &mut Command, mask: libc::mode_t) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: umask(2) is async-signal-safe and cannot fail, as `pre_exec` requires.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(mask);
            Ok(())
        })
    }
}

/// Sends `signal` to a child this test started and has not reaped.
pub fn signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on the pid of our own child, not yet waited for, so not reused.
    assert_eq!(
        unsafe { libc::kill(pid, signal) },
        0,
        "kill({pid}, {signal})"
    );
}

/// SIGTERM, then waits up to `timeout` for the exit.
pub fn sigterm_and_wait(child: &mut Child, timeout: Duration) -> ExitStatus {
    signal(child, libc::SIGTERM);
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < timeout,
            "the process did not stop within {timeout:?} of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGKILL (no chance to clean up) and reaps it.
pub fn sigkill_and_wait(child: &mut Child) -> ExitStatus {
    child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix.
    child.wait().expect("reaped")
}

/// How to start `replaydesk deliver`, the delivery worker alone, as a second process over
/// a database.
pub struct DeliverCommand<'a> {
    pub db: &'a Path,
    pub endpoint: &'a str,
    pub sdkappid: u64,
    /// Given as `REPLAYDESK_IM_SECRET_KEY` (flags show in `ps`).
    pub secret_key: &'a str,
    /// More flags: `--schedule`, `--lease`, rates, ...
    pub args: Vec<String>,
    /// `RUST_LOG`; `warn` unless set.
    pub rust_log: &'a str,
    /// Where its stderr goes: appended to this file, or the test's own stderr.
    pub log_file: Option<&'a Path>,
}

impl<'a> DeliverCommand<'a> {
    pub fn new(db: &'a Path, endpoint: &'a str, sdkappid: u64, secret_key: &'a str) -> Self {
        Self {
            db,
            endpoint,
            sdkappid,
            secret_key,
            args: Vec::new(),
            rust_log: "warn",
            log_file: None,
        }
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    pub fn log_file(mut self, path: &'a Path) -> Self {
        self.log_file = Some(path);
        self
    }

    pub fn spawn(&self) -> Child {
        let stderr = match self.log_file {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .expect("worker log file"),
            ),
            None => Stdio::inherit(),
        };
        Command::new(BIN)
            .args(["deliver", "--db"])
            .arg(self.db)
            .args(["--im-endpoint", self.endpoint])
            .args(["--sdkappid", &self.sdkappid.to_string()])
            .args(&self.args)
            .env("REPLAYDESK_IM_SECRET_KEY", self.secret_key)
            .env("RUST_LOG", self.rust_log)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("replaydesk deliver starts")
    }
}

/// A `replaydesk im-emulator` child, killed if the test ends early.
pub struct EmulatorProcess {
    pub child: Child,
    /// `http://ADDR` it listens on.
    pub base: String,
    /// The line it printed once listening.
    pub first_line: String,
    /// The rest of its stdout, collected until it exits.
    pub rest: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `replaydesk im-emulator --listen 127.0.0.1:0 --sdkappid N ARGS...` with the key
/// in `REPLAYDESK_IM_SECRET_KEY` and waits for its "listening on" line. Its stderr is
/// piped and left unread in [`EmulatorProcess::child`] (it writes little: warnings only).
pub fn spawn_emulator(sdkappid: u64, secret_key: &str, args: &[&str]) -> EmulatorProcess {
    let mut child = Command::new(BIN)
        .args(["im-emulator", "--listen", "127.0.0.1:0", "--sdkappid"])
        .arg(sdkappid.to_string())
        .args(args)
        .env("REPLAYDESK_IM_SECRET_KEY", secret_key)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn replaydesk im-emulator");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(first)) = lines.next() {
            let _ = tx.send(first);
        }
        lines.map_while(Result::ok).collect::<Vec<_>>()
    });
    let Ok(first_line) = rx.recv_timeout(START_TIMEOUT) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the emulator printed no address");
    };
    let base = first_line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first_line:?}"))
        .to_owned();
    EmulatorProcess {
        child,
        base,
        first_line,
        rest: Some(reader),
    }
}
