//! The readable report `replaydesk align` prints (without `--json`).

use super::types::*;
use std::fmt::Write;

fn utc(ms: i64) -> String {
    // Plain UTC from unix ms without a date library: days since the epoch → civil date.
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// A report for people: users' pairs, recordings, a count of events, and every finding.
pub fn render_text(a: &Alignment) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Alignment of {} ({} messages, from the {})",
        a.class_id
            .as_deref()
            .map(|c| format!("class {c}"))
            .or_else(|| a.group_id.as_deref().map(|g| format!("group {g}")))
            .unwrap_or_else(|| "a group".into()),
        a.message_count,
        match a.source {
            AlignSource::History => "group's history",
            AlignSource::Log => "ReplayDesk log",
        }
    );
    if a.reference_shaped {
        let _ = writeln!(s, "Written by the public reference server: pairs come from MsgTimeStamp (lower precision).");
    }
    let _ = writeln!(s, "\nClocks");
    for u in &a.users {
        let _ = writeln!(s, "  {} ({:?} clock)", u.uid, u.clock_width);
        for (k, g) in u.segments.iter().enumerate() {
            let unc = g
                .uncertainty_ms
                .map(|u| format!("±{u} ms"))
                .unwrap_or_else(|| "± unknown".into());
            let _ = writeln!(
                s,
                "    #{k} client {} ↔ server {} ({}): offset {} ms {unc}, {:?}{}{}",
                g.client_ms,
                g.server_ms,
                utc(g.server_ms),
                g.offset_ms,
                g.precision,
                g.rtt_source
                    .map(|r| format!(", rtt from {}", r.as_str()))
                    .unwrap_or_default(),
                g.jump_ms
                    .map(|j| format!(", clock jumped {j} ms"))
                    .unwrap_or_default(),
            );
        }
    }
    let _ = writeln!(s, "\nRecordings");
    for r in &a.recordings {
        let _ = writeln!(
            s,
            "  {} {:?}: starts {} ({}) by the {:?} reading; client clock {}, stream offset {}, start_time {}; {} s",
            r.uid,
            r.video_id,
            r.start_ms,
            utc(r.start_ms),
            r.chosen,
            r.by_client_clock_ms.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
            r.by_stream_offset_ms,
            r.start_time * 1000,
            (r.end_ms - r.start_ms) / 1000,
        );
        if !r.reason_text.is_empty() {
            let _ = writeln!(s, "    why: {}", r.reason_text);
        }
    }
    let placed = a.events.iter().filter(|e| e.server_ms.is_some()).count();
    let _ = writeln!(s, "\nEvents: {} ({} placed)", a.events.len(), placed);
    for e in a.events.iter().take(50) {
        let pos: Vec<String> = e
            .positions
            .iter()
            .map(|p| {
                let video = a
                    .recordings
                    .get(p.recording as usize)
                    .map_or("?", |r| r.video_id.as_str());
                format!("{} in {video:?}", p.position_ms)
            })
            .collect();
        let _ = writeln!(
            s,
            "  {:?} of {} at client {} → server {} {}",
            e.event.kind,
            e.uid,
            e.client_ms,
            e.server_ms
                .map(|t| format!("{t} ({})", utc(t)))
                .unwrap_or_else(|| "-".into()),
            if pos.is_empty() {
                String::new()
            } else {
                format!("[{}]", pos.join(", "))
            },
        );
    }
    if a.events.len() > 50 {
        let _ = writeln!(s, "  … {} more (use --json)", a.events.len() - 50);
    }
    if !a.holes.is_empty() {
        let runs: Vec<String> = a
            .holes
            .iter()
            .take(50)
            .map(|r| match r.count() {
                1 => r.first.to_string(),
                _ => format!("{}..={}", r.first, r.last),
            })
            .collect();
        let more = match a.holes.len() {
            n if n > 50 => format!(" … {} more runs (use --json)", n - 50),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "\nHoles at MsgSeq ({} in all): {}{more}",
            seq_count(&a.holes),
            runs.join(", ")
        );
    }
    let _ = writeln!(s, "\nDiagnostics: {}", a.diagnostics.len());
    for d in &a.diagnostics {
        let _ = writeln!(s, "  [{:?}] {}: {}", d.severity, d.code, d.message);
        let _ = writeln!(s, "      {}", d.explanation);
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00.000Z");
        assert_eq!(super::utc(1_795_339_200_123), "2026-11-22 09:20:00.123Z");
    }
}
