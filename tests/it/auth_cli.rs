//! The `replaydesk user` and `token` commands as real processes (issue 23): run as root on
//! a store the service's user owns, they leave its files that user's and owner-only; a bad
//! role is refused and changes nothing. (The CLI's setup code signing a person in:
//! `auth_people::auth_support_user_added_by_the_cli_signs_in_and_may_look_but_not_change`.)

use crate::util::process::BIN;

/// `replaydesk user add` run as root on a store another user owns (the service's user)
/// leaves its files that user's, owner-only, as `replaydesk backup` does.
#[cfg(unix)]
#[tokio::test]
async fn auth_the_cli_run_as_root_keeps_the_stores_owner_and_mode() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: not root, so the CLI cannot change an owner anyway");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replaydesk.db");
    let store = replaydesk::store::Store::open(&db).await.unwrap();
    store.close().await;
    let service_user = 65534; // nobody
    let files = |db: &std::path::Path| -> Vec<std::path::PathBuf> {
        ["", "-wal", "-shm"]
            .iter()
            .map(|s| std::path::PathBuf::from(format!("{}{s}", db.display())))
            .filter(|p| p.exists())
            .collect()
    };
    for f in files(&db) {
        std::os::unix::fs::chown(&f, Some(service_user), Some(service_user)).unwrap();
    }
    for args in [
        vec!["user", "add", "ada", "--role", "admin"],
        vec!["token", "create", "--user", "ada", "--name", "ci"],
        vec!["user", "list"],
    ] {
        let out = std::process::Command::new(BIN)
            .args(&args)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if args[0] == "token" {
            let stdout = String::from_utf8(out.stdout).unwrap();
            assert!(
                stdout.lines().last().unwrap().starts_with("rdt1_"),
                "{stdout}"
            );
        }
        for f in files(&db) {
            let m = std::fs::metadata(&f).unwrap();
            assert_eq!(
                (m.uid(), m.gid()),
                (service_user, service_user),
                "{args:?}: {}",
                f.display()
            );
            assert_eq!(
                m.permissions().mode() & 0o077,
                0,
                "{args:?}: {} owner-only",
                f.display()
            );
        }
    }
    // A bad role changes nothing and says why.
    let out = std::process::Command::new(BIN)
        .args(["user", "add", "eve", "--role", "root", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin, support, viewer"));
}
