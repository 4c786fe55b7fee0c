//! Running ReplayDesk as a service, with the built binary as an operator runs it: backups
//! taken while `serve` takes reports, restores, `migrate --check`, upgrading a store made
//! by an earlier release (`tests/fixtures/store-c76abaa.db`), refusing a store made by a
//! newer one, and `/readyz`.
//!
//! One file although long: every case drives the built binary as an operator would, through
//! the same few steps (start `serve`, wait until ready, stop it, check files and modes).
#![cfg(unix)]

// Only its PostgreSQL half is used here.
#[allow(dead_code)]
use crate::util::{engines, process};
use process::{sigterm_and_wait, ServeCommand, BIN};
use serde_json::{json, Value};
use sqlx::{Connection, SqliteConnection};
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ADMIN: &str = "operations-admin-token-8c1d2e";

/// The store made by the build of commit c76abaa (tests/fixtures/README.md says how).
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-c76abaa.db")
}

fn replaydesk(args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("REPLAYDESK_DB");
    cmd.output().expect("run replaydesk")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn check(db: &Path) -> (Option<i32>, String) {
    let o = replaydesk(&["migrate", "--check", "--db", db.to_str().unwrap()]);
    (o.status.code(), text(&o))
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

async fn open(db: &Path) -> SqliteConnection {
    SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap()
}

async fn count(conn: &mut SqliteConnection, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(conn)
        .await
        .unwrap()
}

fn serve(dir: &Path, db: &Path) -> process::Served {
    ServeCommand::new(dir, db)
        .env("REPLAYDESK_ADMIN_TOKEN", ADMIN)
        .env("REPLAYDESK_LIMITS_REPORTS_PER_CREDENTIAL", "0")
        .env("REPLAYDESK_LIMITS_REPORTS_PER_CLASS", "0")
        .spawn()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Creates a class whose legacy token may report for any uid; returns that token.
async fn class(http: &reqwest::Client, base: &str, id: &str) -> String {
    let res = http
        .post(format!("{base}/v1/classes"))
        .bearer_auth(ADMIN)
        .json(
            &json!({"class_id": id, "group_id": format!("replay_{id}"), "teacher_uid": "teacher_li",
            "create_group": true, "legacy_class_token": true, "open_enrolment": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["report_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn migrate_check_says_whether_a_store_needs_migrating_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // An earlier release's store: migrations pending (10), and the check leaves the file
    // exactly as it was, with no -wal or -shm made beside it.
    let old = dir.path().join("old.db");
    std::fs::copy(fixture(), &old).unwrap();
    let before = sha256(&old);
    let (code, out) = check(&old);
    assert_eq!(code, Some(10), "{out}");
    assert!(out.contains("pending"), "{out}");
    assert_eq!(sha256(&old), before);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["old.db"], "the check made files: {left:?}");

    // Migrated: current (0).
    let o = replaydesk(&["migrate", "--db", old.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let (code, out) = check(&old);
    assert_eq!(code, Some(0), "{out}");

    // A newer release's migration on it: 11.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = open(&old).await;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from a newer release', 1, x'00', 1)",
        )
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();
    });
    let (code, out) = check(&old);
    assert_eq!(code, Some(11), "{out}");
    assert!(out.contains("newer"), "{out}");

    // Not a store: another non-zero code.
    let (code, out) = check(&dir.path().join("missing.db"));
    assert!(
        !matches!(code, Some(0) | Some(10) | Some(11)),
        "{code:?} {out}"
    );
    assert!(!dir.path().join("missing.db").exists());
}

#[test]
fn a_store_from_an_earlier_release_migrates_forward_at_start_and_keeps_its_contents() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replaydesk.db");
    std::fs::copy(fixture(), &db).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (classes, messages, reports) = rt.block_on(async {
        let mut c = open(&db).await;
        let r = (
            count(&mut c, "classes").await,
            count(&mut c, "messages").await,
            count(&mut c, "timeline_reports").await,
        );
        c.close().await.unwrap();
        r
    });
    assert!(classes > 0 && messages > 0, "the fixture holds a class");
    assert_eq!(check(&db).0, Some(10));

    let mut served = serve(dir.path(), &db);
    rt.block_on(async {
        let http = http();
        let res = http
            .get(format!("{}/readyz", served.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["ready"], true, "{v}");
        assert_eq!(v["schema"], "current", "{v}");
        // The old classes and messages are served as before.
        let v: Value = http
            .get(format!("{}/v1/admin/classes", served.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let listed = v["classes"].as_array().or(v.as_array()).map_or(0, Vec::len);
        assert_eq!(listed as i64, classes, "{v}");
        // And it takes new reports.
        let token = class(&http, &served.base, "after_upgrade").await;
        let res = http
            .post(format!("{}/v1/classes/after_upgrade/timeline", served.base))
            .bearer_auth(&token)
            .json(&json!({"uid": "student_1", "timestamp": 5_000, "rtt_ms": 3}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
    });
    assert!(sigterm_and_wait(&mut served.child, Duration::from_secs(60)).success());
    assert_eq!(check(&db).0, Some(0));
    rt.block_on(async {
        let mut c = open(&db).await;
        assert_eq!(count(&mut c, "classes").await, classes + 1);
        assert!(count(&mut c, "messages").await > messages);
        assert_eq!(count(&mut c, "timeline_reports").await, reports + 1);
        c.close().await.unwrap();
    });
}

#[test]
fn serve_refuses_a_store_migrated_by_a_newer_release_and_leaves_it_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replaydesk.db");
    std::fs::copy(fixture(), &db).unwrap();
    let o = replaydesk(&["migrate", "--db", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rows = rt.block_on(async {
        let mut c = open(&db).await;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from a newer release', 1, x'00', 1)",
        )
        .execute(&mut c)
        .await
        .unwrap();
        let n = count(&mut c, "messages").await;
        c.close().await.unwrap();
        n
    });
    let err = ServeCommand::new(dir.path(), &db)
        .env("REPLAYDESK_ADMIN_TOKEN", ADMIN)
        .try_spawn()
        .err()
        .expect("serve refuses a newer store");
    assert!(
        err.contains("newer ReplayDesk") && err.contains("9999"),
        "{err}"
    );
    assert_eq!(check(&db).0, Some(11));
    rt.block_on(async {
        let mut c = open(&db).await;
        assert_eq!(count(&mut c, "messages").await, rows);
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut c)
                .await
                .unwrap();
        assert_eq!(*versions.last().unwrap(), 9999);
        c.close().await.unwrap();
    });
}

/// The acceptance test of backups: reports keep coming while `backup` runs, and the
/// restored store holds every report acknowledged before the backup began.
#[test]
fn a_backup_taken_under_load_restores_every_report_acknowledged_before_it_began() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replaydesk.db");
    let mut served = serve(dir.path(), &db);
    // An IM key fixed at run time lives beside the store; --with-secrets copies it.
    std::fs::write(
        dir.path().join("replaydesk.db.secrets.toml"),
        "# stand-in\n",
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let base = served.base.clone();
    let acked: Arc<Mutex<Vec<i64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let (before, backup_out, during) = rt.block_on(async {
        let http = http();
        let token = class(&http, &base, "loaded").await;
        let mut clients = Vec::new();
        for c in 0..4 {
            let (http, base, token, acked, stop) = (
                http.clone(),
                base.clone(),
                token.clone(),
                acked.clone(),
                stop.clone(),
            );
            clients.push(tokio::spawn(async move {
                let mut i = 0i64;
                while !stop.load(Ordering::SeqCst) {
                    i += 1;
                    let res = http
                        .post(format!("{base}/v1/classes/loaded/timeline"))
                        .bearer_auth(&token)
                        .json(&json!({"uid": format!("student_{c}"), "timestamp": i, "rtt_ms": 2}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 202);
                    let v: Value = res.json().await.unwrap();
                    acked
                        .lock()
                        .unwrap()
                        .push(v["message_id"].as_i64().unwrap());
                }
            }));
        }
        while acked.lock().unwrap().len() < 200 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Everything acknowledged up to here must be in the backup.
        let before: Vec<i64> = acked.lock().unwrap().clone();
        let (db_arg, to) = (
            db.to_str().unwrap().to_owned(),
            dir.path().join("backup.db"),
        );
        let out = tokio::task::spawn_blocking(move || {
            replaydesk(&[
                "backup",
                "--db",
                &db_arg,
                "--to",
                to.to_str().unwrap(),
                "--with-secrets",
            ])
        })
        .await
        .unwrap();
        let during = acked.lock().unwrap().len() - before.len();
        // Reports still arrive after the backup.
        let n = acked.lock().unwrap().len();
        while acked.lock().unwrap().len() < n + 20 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.store(true, Ordering::SeqCst);
        for c in clients {
            c.await.unwrap();
        }
        (before, out, during)
    });
    assert!(backup_out.status.success(), "{}", text(&backup_out));
    let said = text(&backup_out);
    assert!(said.contains("integrity: ok"), "{said}");
    assert!(said.contains("messages: "), "{said}");
    eprintln!("reports acknowledged while the backup ran: {during}");

    let backup = dir.path().join("backup.db");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&backup), 0o600);
    assert_eq!(
        mode(&dir.path().join("backup.db.secrets.toml")),
        0o600,
        "--with-secrets copies the secrets file, owner-only"
    );
    assert!(!dir.path().join("backup.db-wal").exists());

    // Restore refuses to replace the store serve has open.
    let o = replaydesk(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("never replaces a store"), "{}", text(&o));
    assert!(sigterm_and_wait(&mut served.child, Duration::from_secs(60)).success());

    // Into an empty place it puts the backup back, secrets included.
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = restored_dir.path().join("replaydesk.db");
    let o = replaydesk(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--db",
        restored.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(mode(&restored), 0o600);
    assert!(restored_dir
        .path()
        .join("replaydesk.db.secrets.toml")
        .is_file());
    let ids: BTreeSet<i64> = rt.block_on(async {
        let mut c = open(&restored).await;
        let ids = sqlx::query_scalar("SELECT id FROM messages")
            .fetch_all(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        ids.into_iter().collect()
    });
    let missing: Vec<&i64> = before.iter().filter(|id| !ids.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged reports missing from the restored store: {missing:?}",
        missing.len()
    );
    assert_eq!(check(&restored).0, Some(0));

    // The restored store serves.
    let mut again = serve(restored_dir.path(), &restored);
    rt.block_on(async {
        let res = http()
            .get(format!("{}/readyz", again.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    });
    assert!(sigterm_and_wait(&mut again.child, Duration::from_secs(60)).success());
}

#[test]
fn backup_and_restore_refuse_what_they_must_not_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    std::fs::copy(fixture(), &db).unwrap();
    let to = dir.path().join("b.db");
    // An existing file is never overwritten.
    std::fs::write(&to, "keep me").unwrap();
    let o = replaydesk(&[
        "backup",
        "--db",
        db.to_str().unwrap(),
        "--to",
        to.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("never overwrites"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&to).unwrap(), "keep me");
    // PostgreSQL: the pointer to pg_dump.
    let o = replaydesk(&[
        "backup",
        "--db",
        "postgres://rd@127.0.0.1:1/rd",
        "--to",
        dir.path().join("pg.db").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("pg_dump"), "{}", text(&o));
    assert!(!dir.path().join("pg.db").exists());
    // A file that is not a store is not restored.
    let o = replaydesk(&[
        "restore",
        "--from",
        to.to_str().unwrap(),
        "--db",
        dir.path().join("r.db").to_str().unwrap(),
    ]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(!dir.path().join("r.db").exists());
    // A backup of the earlier release's store restores, and says it needs migrating.
    let b = dir.path().join("old-backup.db");
    let o = replaydesk(&[
        "backup",
        "--db",
        db.to_str().unwrap(),
        "--to",
        b.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let r = dir.path().join("restored.db");
    let o = replaydesk(&[
        "restore",
        "--from",
        b.to_str().unwrap(),
        "--db",
        r.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("needs migrating"), "{}", text(&o));
    assert_eq!(check(&r).0, Some(10));
}

/// `/readyz` says 503 from the moment a stop is asked for, while `/healthz` (the store's
/// writes) stays 200.
#[tokio::test]
async fn readyz_turns_unready_when_stopping_while_healthz_keeps_its_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let config = replaydesk::config::Config {
        db: dir.path().join("r.db"),
        admin_token: Some(replaydesk::secret::Secret::new(ADMIN.to_owned())),
        ..Default::default()
    };
    let desk = replaydesk::service::ReplayDesk::start(config)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = replaydesk::server::spawn(desk.clone(), listener).unwrap();
    let http = http();
    let get = |path: &str| {
        let url = format!("{}{path}", server.base_url());
        let http = http.clone();
        async move {
            let res = http.get(url).send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = get("/readyz").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"ready": true, "schema": "current", "database": "takes writes", "stopping": false})
    );
    desk.begin_stopping();
    let (s, v) = get("/readyz").await;
    assert_eq!(s, 503, "{v}");
    assert_eq!(v["ready"], false);
    assert_eq!(v["stopping"], true);
    let (s, _) = get("/healthz").await;
    assert_eq!(s, 200);
    server.shutdown().await;
}

/// The `replaydesk_*` names in `text` (PromQL, JSON): every run of name characters that
/// starts with the prefix.
fn metric_names(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("replaydesk_"))
        .map(str::to_owned)
        .collect()
}

/// The Grafana dashboard and the alerting rules read only series `/metrics` serves.
#[tokio::test]
async fn every_metric_the_dashboard_and_the_rules_use_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let config = replaydesk::config::Config {
        db: dir.path().join("m.db"),
        admin_token: Some(replaydesk::secret::Secret::new(ADMIN.to_owned())),
        ..Default::default()
    };
    let desk = replaydesk::service::ReplayDesk::start(config)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = replaydesk::server::spawn(desk, listener).unwrap();
    let text = http()
        .get(format!("{}/metrics", server.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    server.shutdown().await;
    let mut served = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let (Some(name), Some(kind)) = (words.next(), words.next()) else {
            continue;
        };
        served.insert(name.to_owned());
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                served.insert(format!("{name}{suffix}"));
            }
        }
    }
    for gauge in ["replaydesk_healthy", "replaydesk_ready"] {
        assert!(
            text.contains(&format!("\n{gauge} 1\n")),
            "{gauge} 1 in:\n{text}"
        );
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring");
    let dashboard = std::fs::read_to_string(root.join("replaydesk.dashboard.json")).unwrap();
    let doc: Value = serde_json::from_str(&dashboard).expect("the dashboard is JSON");
    let exprs: Vec<String> = doc["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().unwrap().to_owned())
        .collect();
    let used = metric_names(&exprs.join("\n"));
    assert!(used.len() >= 15, "the dashboard reads {used:?}");
    let rules = std::fs::read_to_string(root.join("replaydesk.rules.yml")).unwrap();
    let rule_exprs: String = rules
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    for (what, names) in [
        ("the dashboard", used),
        ("the alerting rules", metric_names(&rule_exprs)),
    ] {
        let missing: Vec<&String> = names.iter().filter(|n| !served.contains(*n)).collect();
        assert!(
            missing.is_empty(),
            "{what} uses series /metrics does not serve: {missing:?}"
        );
    }
}

async fn pg_count(url: &str, table: &str) -> i64 {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let n = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    n
}

/// PostgreSQL stores are backed up with PostgreSQL's tools (docs/operations.md): a
/// `pg_dump -Fc` of a store in use, restored with `pg_restore` into an empty database, is
/// the same store, current for this binary, and `serve` runs on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_round_trips_through_pg_dump_and_pg_restore() {
    let Some(source) = engines::postgres("pg_dump_source").await else {
        return;
    };
    let Some(target) = engines::postgres("pg_restore_target").await else {
        return;
    };
    let (src, dst) = (source.db(), target.db());
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), &src);
    let http = http();
    let token = class(&http, &served.base, "pg_backup").await;
    for i in 0..20 {
        let res = http
            .post(format!("{}/v1/classes/pg_backup/timeline", served.base))
            .bearer_auth(&token)
            .json(
                &json!({"uid": format!("student_{}", i % 3), "timestamp": 1_000 + i, "rtt_ms": 2}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
    }
    let src_url = src.to_str().unwrap().to_owned();
    let dst_url = dst.to_str().unwrap().to_owned();
    let dump = dir.path().join("store.dump");
    // Taken while serve runs: pg_dump reads one snapshot.
    let (d, s) = (dump.clone(), src_url.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("pg_dump")
            .args(["-Fc", "--no-owner", "-f"])
            .arg(&d)
            .arg(format!("--dbname={s}"))
            .output()
            .expect("pg_dump (postgresql-client)")
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let mut served = served;
    tokio::task::block_in_place(|| {
        assert!(sigterm_and_wait(&mut served.child, Duration::from_secs(60)).success())
    });
    let (d, t) = (dump.clone(), dst_url.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("pg_restore")
            .args(["--no-owner", "--exit-on-error"])
            .arg(format!("--dbname={t}"))
            .arg(&d)
            .output()
            .expect("pg_restore")
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // Nothing was reported after the dump, so what intake wrote is the same on both sides;
    // the delivery worker kept sending until SIGTERM, so the source may hold attempts made
    // after the dump's snapshot, never fewer.
    for table in ["classes", "class_members", "messages", "timeline_reports"] {
        assert_eq!(
            pg_count(&dst_url, table).await,
            pg_count(&src_url, table).await,
            "{table}"
        );
    }
    assert!(pg_count(&dst_url, "attempts").await <= pg_count(&src_url, "attempts").await);
    assert!(pg_count(&dst_url, "timeline_reports").await >= 20);
    let checked = {
        let dst = dst.clone();
        tokio::task::spawn_blocking(move || check(&dst))
            .await
            .unwrap()
    };
    assert_eq!(checked.0, Some(0), "{}", checked.1);
    let mut again = serve(dir.path(), &dst);
    let res = http
        .get(format!("{}/readyz", again.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    tokio::task::block_in_place(|| {
        assert!(sigterm_and_wait(&mut again.child, Duration::from_secs(60)).success())
    });
}
