//! What `replaydesk serve` tells its operator at start, read from a real process whose
//! stdout and stderr are pipes (as under a service manager or `| tee`): no terminal colour
//! codes, a warning when no recording-callback key is set, and how to sign in when the
//! admin token came from configuration (without printing it).
#![cfg(unix)]

use crate::util::process::{sigterm_and_wait, BIN};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "start-messages-admin-token-5e1f0c";
const CALLBACK_KEY: &str = "start-messages-callback-key";

struct Output {
    stdout: String,
    stderr: String,
}

/// Runs `serve` in `dir` with text logs until it has said how to sign in, then stops it
/// with SIGTERM and returns everything it wrote.
fn run_serve(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.join("replaydesk.db"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        // Colour must be off because these are pipes, not because of a variable.
        .env_remove("NO_COLOR")
        .env_remove("REPLAYDESK_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("REPLAYDESK_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn replaydesk serve");
    let collect = |mut stream: Box<dyn Read + Send>| {
        let text = Arc::new(Mutex::new(String::new()));
        let sink = text.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        (text, reader)
    };
    let (stdout, out_reader) = collect(Box::new(child.stdout.take().unwrap()));
    let (stderr, err_reader) = collect(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stdout.lock().unwrap().contains("sign in:") {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "serve exited {status} before saying how to sign in:\n{}\n{}",
                stdout.lock().unwrap(),
                stderr.lock().unwrap()
            );
        }
        assert!(
            Instant::now() < deadline,
            "serve said nothing about signing in within a minute:\n{}\n{}",
            stdout.lock().unwrap(),
            stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = sigterm_and_wait(&mut child, Duration::from_secs(30));
    assert!(status.success(), "serve stopped with {status}");
    out_reader.join().unwrap();
    err_reader.join().unwrap();
    let stdout = stdout.lock().unwrap().clone();
    let stderr = stderr.lock().unwrap().clone();
    Output { stdout, stderr }
}

fn assert_no_colour(out: &Output) {
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.contains('\u{1b}'),
            "{name} holds terminal escape codes although it is a pipe:\n{text:?}"
        );
    }
}

#[test]
fn token_from_the_environment_and_no_callback_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_serve(dir.path(), &[], &[("REPLAYDESK_ADMIN_TOKEN", TOKEN)]);
    assert_no_colour(&out);
    assert!(
        out.stderr.contains("replaydesk serving"),
        "no start line in the log:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("WARN")
            && out.stderr.contains("no recording-callback key is set")
            && out
                .stderr
                .contains("every recording callback will be refused"),
        "no callback-key warning in the log:\n{}",
        out.stderr
    );
    let console = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("console: "))
        .unwrap_or_else(|| panic!("no console line:\n{}", out.stdout))
        .to_owned();
    let hint = out
        .stdout
        .lines()
        .find(|l| l.starts_with("sign in: "))
        .unwrap();
    assert!(
        hint.contains(&format!("open {console} and paste the admin token"))
            && hint.contains("REPLAYDESK_ADMIN_TOKEN")
            && hint.contains(&format!("{console}?token=<that token>")),
        "{hint}"
    );
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains(TOKEN), "the configured token was printed");
    }
}

#[test]
fn token_from_the_configuration_file_and_a_callback_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("serve.toml");
    std::fs::write(
        &file,
        format!("admin_token = \"{TOKEN}\"\ncallback_key = \"{CALLBACK_KEY}\"\n"),
    )
    .unwrap();
    let out = run_serve(dir.path(), &["--config", file.to_str().unwrap()], &[]);
    assert_no_colour(&out);
    let hint = out
        .stdout
        .lines()
        .find(|l| l.starts_with("sign in: "))
        .unwrap();
    assert!(
        hint.contains(&format!("admin_token in {}", file.display())),
        "{hint}"
    );
    assert!(
        !out.stderr.contains("no recording-callback key is set"),
        "warned about a key that is set:\n{}",
        out.stderr
    );
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains(TOKEN) && !text.contains(CALLBACK_KEY));
    }
}
