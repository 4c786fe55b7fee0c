//! Import bundles made to hurt (issue 27, item 5), against a real `serve` (in process,
//! sandbox, SQLite) over HTTP and the real `replaydesk import` process: history items far
//! apart align as runs of holes in an answer of bounded size, a large bundle is read in
//! memory near its own size, and every identifier a bundle would store passes the rule the
//! live API applies to it (nothing is imported otherwise).

use crate::util::server::{TestServer, ADMIN};
use serde_json::{json, Value};

/// A real class's bundle: `src`, its teacher's start and three timeline reports.
async fn exported(t: &TestServer) -> Value {
    let token = t.create_class("src", "g_src", "teacher_li", false).await;
    for ts in [1000, 2000, 3000] {
        let (s, v) = t
            .report(
                "src",
                &token,
                &json!({"uid": "teacher_li", "timestamp": ts}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
    }
    t.admin_get("/v1/admin/classes/src/export").await
}

/// `bundle` as class `class_id` with group `group_id` (ids an import may take here).
fn renamed(mut bundle: Value, class_id: &str, group_id: &str) -> Value {
    bundle["class"]["class_id"] = class_id.into();
    bundle["class"]["group_id"] = group_id.into();
    for m in bundle["members"].as_array_mut().unwrap() {
        m["class_id"] = class_id.into();
    }
    for m in bundle["messages"].as_array_mut().unwrap() {
        m["class_id"] = class_id.into();
        m["group_id"] = group_id.into();
    }
    bundle
}

async fn import(t: &TestServer, bundle: &Value) -> (u16, Value) {
    t.post("/v1/admin/import", Some(ADMIN), bundle).await
}

/// 50 history items whose `MsgSeq`s are 100,001 apart (a bundle of a few KB): the class's
/// alignment lists the 4.9 million missing `MsgSeq`s as 49 runs, in a small answer, with
/// a bounded number of diagnostics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn far_apart_history_items_align_as_runs_in_a_small_answer() {
    let t = TestServer::start(|_| {}).await;
    let mut b = renamed(exported(&t).await, "far", "g_far");
    b["history"] = (0..50u64)
        .map(|k| {
            json!({"MsgSeq": 1 + k * 100_001, "MsgTimeStamp": 1_795_339_200 + k,
                   "From_Account": "admin", "IsPlaceMsg": 0, "MsgBody": []})
        })
        .collect();
    let text = serde_json::to_string(&b).unwrap();
    assert!(text.len() < 64 * 1024, "a small bundle: {}", text.len());
    let (s, v) = import(&t, &b).await;
    assert_eq!(s, 201, "{v}");

    let res = t
        .http
        .get(format!("{}/v1/admin/classes/far/alignment", t.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(
        body.len() < 256 * 1024,
        "the alignment answer is {} bytes",
        body.len()
    );
    let a: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(a["source"], "history");
    let runs = a["holes"].as_array().unwrap();
    assert_eq!(runs.len(), 49, "{}", a["holes"]);
    let total: u64 = runs
        .iter()
        .map(|r| r["last"].as_u64().unwrap() - r["first"].as_u64().unwrap() + 1)
        .sum();
    assert_eq!(total, 49 * 100_000);
    assert_eq!(runs[0], json!({"first": 2, "last": 100_001}));
    let hole_findings = a["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "history_hole")
        .count();
    assert!(
        hole_findings <= 21,
        "{hole_findings} history_hole diagnostics"
    );
}

/// Every identifier a bundle would store is checked as the live API checks it: a group id
/// with a bell and a right-to-left override, a member uid with NUL and an ANSI escape, a
/// teacher or message uid that looks like another are refused, naming the field, and
/// nothing is imported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_in_a_bundle_pass_the_live_rules_or_nothing_is_imported() {
    let t = TestServer::start(|_| {}).await;
    let good = renamed(exported(&t).await, "copy", "g_copy");
    type Spoil = fn(&mut Value);
    let cases: Vec<(Spoil, &str)> = vec![
        (
            |b| {
                let g = "g_copy\u{0007}\u{202E}x";
                b["class"]["group_id"] = g.into();
                for m in b["messages"].as_array_mut().unwrap() {
                    m["group_id"] = g.into();
                }
            },
            "class.group_id",
        ),
        (
            |b| b["members"][0]["uid"] = "stu\u{0000}\u{001b}[31m".into(),
            "members[0].uid",
        ),
        (
            |b| b["members"][0]["uid"] = "t\u{0435}acher_li".into(),
            "members[0].uid",
        ),
        (
            |b| b["class"]["teacher_uid"] = "teacher\u{3164}".into(),
            "class.teacher_uid",
        ),
        (
            |b| b["messages"][0]["uid"] = "ｔｅａｃｈｅｒ_li".into(),
            "messages[0].uid",
        ),
        (
            |b| b["reports"][0]["uid"] = "cafe\u{0301}".into(),
            "reports[0].uid",
        ),
    ];
    for (spoil, field) in cases {
        let mut b = good.clone();
        spoil(&mut b);
        let (s, v) = import(&t, &b).await;
        assert_eq!(s, 422, "{field}: {v}");
        let detail = v["detail"].as_str().unwrap_or_default();
        assert!(detail.starts_with(field), "{field}: {detail}");
        let (s, _) = t.get("/v1/admin/classes/copy", Some(ADMIN)).await;
        assert_eq!(s, 404, "{field}: nothing imported");
    }
    let (s, v) = import(&t, &good).await;
    assert_eq!(s, 201, "the bundle itself imports: {v}");
}

/// Peak memory of `replaydesk import FILE` (KiB), and whether it succeeded.
#[cfg(target_os = "linux")]
fn import_peak_kib(file: &std::path::Path, db: &std::path::Path) -> (i64, bool) {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_replaydesk"))
        .arg("import")
        .arg(file)
        .arg("--db")
        .arg(db)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for this child alone (other
    // tests' children are not counted, as they would be by RUSAGE_CHILDREN).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    std::mem::forget(child);
    (
        usage.ru_maxrss,
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
    )
}

/// A 16 MiB `members` array is read with memory near its size: as a tree of JSON values it
/// took 31 times its size. (Its last member is of another class: the bundle is refused
/// after it was read, so only reading is measured.)
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_members_array_is_read_in_memory_near_its_size() {
    let t = TestServer::start(|_| {}).await;
    let small = renamed(exported(&t).await, "big", "g_big");
    let dir = tempfile::tempdir().unwrap();
    let small_file = dir.path().join("small.json");
    std::fs::write(&small_file, serde_json::to_vec(&small).unwrap()).unwrap();
    let (base_kib, ok) = import_peak_kib(&small_file, &dir.path().join("small.db"));
    assert!(ok, "the small bundle imports");

    // Written out member by member: this test process stays small (a child's peak counts
    // what it shared with its parent when it was made).
    let mut big = small.clone();
    big["members"] = "MEMBERS_GO_HERE".into();
    let text = serde_json::to_string(&big).unwrap();
    let (head, tail) = text.split_once("\"MEMBERS_GO_HERE\"").unwrap();
    let big_file = dir.path().join("big.json");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&big_file).unwrap());
    use std::io::Write;
    write!(out, "{head}[").unwrap();
    let mut i = 0;
    while out.get_ref().metadata().unwrap().len() < 16 << 20 {
        for _ in 0..1000 {
            write!(
                out,
                r#"{{"class_id":"big","uid":"student_{i:07}","role":"student","first_seen_at":1795339200000,"last_seen_at":1795339200000}},"#
            )
            .unwrap();
            i += 1;
        }
        out.flush().unwrap();
    }
    write!(
        out,
        r#"{{"class_id":"other","uid":"x","role":"student","first_seen_at":1,"last_seen_at":1}}]{tail}"#
    )
    .unwrap();
    out.flush().unwrap();
    drop(out);
    let size_kib = (std::fs::metadata(&big_file).unwrap().len() / 1024) as i64;
    let (peak_kib, ok) = import_peak_kib(&big_file, &dir.path().join("big.db"));
    assert!(!ok, "refused: its last member is of another class");
    let grown = peak_kib - base_kib;
    eprintln!("a {size_kib} KiB bundle: peak {peak_kib} KiB, {grown} KiB above a small one's");
    assert!(
        grown < 4 * size_kib,
        "reading a {size_kib} KiB bundle grew the process by {grown} KiB ({:.1} times its size)",
        grown as f64 / size_kib as f64
    );
}
