//! UserSig interoperability: `replaydesk usersig` output checked by an independent
//! implementation (Python standard library), and sigs from Tencent's own published
//! generator (PyPI `tls-sig-api-v2`) checked by ReplayDesk's verifier.

use replaydesk::im::usersig;
use std::path::PathBuf;
use std::process::Command;

const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const APP: u64 = 1_400_000_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> Command {
    let mut c = Command::new("python3");
    let deps = std::env::var_os("REPLAYDESK_PYDEPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/pydeps"));
    c.env("PYTHONPATH", deps);
    c
}

fn now() -> i64 {
    replaydesk::clock::unix_ms_now() / 1000
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("command runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text.trim().to_owned())
}

fn cli_sig(identifier: &str, expire: u64) -> String {
    let (ok, out) = run(Command::new(env!("CARGO_BIN_EXE_replaydesk")).args([
        "usersig",
        "--sdkappid",
        &APP.to_string(),
        "--identifier",
        identifier,
        "--secret-key",
        KEY,
        "--expire",
        &expire.to_string(),
    ]));
    assert!(ok, "replaydesk usersig failed: {out}");
    assert_eq!(out.lines().count(), 1, "one line: {out}");
    out
}

fn independent_verify(sig: &str, identifier: &str, key: &str, at: i64) -> (bool, String) {
    run(python()
        .arg(root().join("tests/interop/verify_usersig.py"))
        .args([sig, &APP.to_string(), identifier, key, &at.to_string()]))
}

#[test]
fn cli_sig_verifies_with_independent_implementation() {
    let sig = cli_sig("administrator", 86_400);
    let t = now();
    assert_eq!(
        independent_verify(&sig, "administrator", KEY, t),
        (true, "ok".into())
    );
    // The independent verifier is not a rubber stamp.
    assert_eq!(
        independent_verify(&sig, "administrator", "other-key", t),
        (false, "refused: signature".into())
    );
    assert_eq!(
        independent_verify(&sig, "xiaojun", KEY, t),
        (false, "refused: identifier".into())
    );
    assert_eq!(
        independent_verify(&sig, "administrator", KEY, t + 86_400 + 5),
        (false, "refused: expired".into())
    );
}

fn tencent_sig(identifier: &str, expire: u64, userbuf: Option<&str>) -> String {
    let mut cmd = python();
    cmd.arg(root().join("tests/interop/tencent_gen_sig.py"))
        .args([&APP.to_string(), KEY, identifier, &expire.to_string()]);
    if let Some(b) = userbuf {
        cmd.arg(b);
    }
    let (ok, out) = run(&mut cmd);
    assert!(
        ok,
        "Tencent's generator (pip tls-sig-api-v2) must be installed by scripts/setup.sh: {out}"
    );
    out
}

#[test]
fn tencent_generator_sig_verifies_with_replaydesk() {
    let sig = tencent_sig("administrator", 3600, None);
    let v = usersig::verify(&sig, APP, "administrator", KEY, now()).expect("verifies");
    assert_eq!(v.identifier, "administrator");
    assert_eq!(v.expire, 3600);

    // Through the CLI too, and refused with the service's codes when it should be.
    let verify_cli = |identifier: &str, key: &str, at: i64| {
        run(Command::new(env!("CARGO_BIN_EXE_replaydesk")).args([
            "verify-usersig",
            "--sdkappid",
            &APP.to_string(),
            "--identifier",
            identifier,
            "--secret-key",
            key,
            "--sig",
            &sig,
            "--now",
            &at.to_string(),
        ]))
    };
    let (ok, out) = verify_cli("administrator", KEY, now());
    assert!(ok, "{out}");
    let (ok, out) = verify_cli("administrator", "wrong", now());
    assert!(!ok && out.contains("70009"), "{out}");
    let (ok, out) = verify_cli("administrator", KEY, now() + 3601 + 60);
    assert!(!ok && out.contains("70001"), "{out}");

    let with_buf = tencent_sig("xiaojun", 86_400, Some("abc"));
    let v = usersig::verify(&with_buf, APP, "xiaojun", KEY, now()).expect("userbuf sig verifies");
    assert_eq!(v.userbuf.as_deref(), Some(&b"abc"[..]));
}
