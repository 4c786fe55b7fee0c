//! What the ReplayGroup archive costs: bytes per message stored (and what compressing the
//! large bodies would save), archive speed against `replaydesk im-emulator` in its own
//! process with ReplayDesk's 200/s app limit on and off, and delivery's drain alone and
//! with an archive pass running (against the IM's real limits, 200 requests/s per app and
//! 40 messages/s per group, in the emulator and in ReplayDesk), all in one run.
//!
//! `cargo bench --bench archive`. `BENCH_WB` whiteboard messages in the archived group
//! (default 4,000; every fifth with a file element), `BENCH_DRAIN` messages drained
//! (default 3,000 over 30 groups). Under `cargo test --benches` it does a tiny run.

use flate2::write::ZlibEncoder;
use flate2::Compression;
use replaydesk::config::Config;
use replaydesk::im::client::{ImClient, ImConfig};
use replaydesk::im::wire::SendGroupMsgRequest;
use replaydesk::protocol::{MsgBodyElem, Payload, ReplayMessage, Seq, UserValue};
use replaydesk::secret::Secret;
use replaydesk::service::ReplayDesk;
use replaydesk::store::{
    Actor, ArchiveRunState, Door, MessageFilter, MessageStatus, NewClass, NewMessage,
};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY: &str = "bench-archive-secret-key";
const SDKAPPID: u64 = 1_400_000_778;
const GROUP: &str = "bench-archive-wb";

/// `replaydesk im-emulator` in its own process, its groups in `db`; killed when dropped.
struct EmulatorProcess {
    child: Child,
    base: String,
}

impl EmulatorProcess {
    fn spawn(limits: bool, db: &Path) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_replaydesk"));
        cmd.args(["im-emulator", "--listen", "127.0.0.1:0", "--sdkappid"])
            .arg(SDKAPPID.to_string())
            .arg("--db")
            .arg(db)
            .env("REPLAYDESK_IM_SECRET_KEY", KEY)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if !limits {
            cmd.args(["--app-rate", "0", "--group-rate", "0"]);
        }
        let mut child = cmd.spawn().expect("spawn replaydesk im-emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the emulator's first line");
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("the emulator did not start: {line:?}"))
            .to_owned();
        Self { child, base }
    }

    async fn stats(&self) -> serde_json::Value {
        reqwest::get(format!("{}/control/stats", self.base))
            .await
            .expect("emulator stats")
            .json()
            .await
            .expect("stats JSON")
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn im(base: &str) -> Arc<ImClient> {
    Arc::new(
        ImClient::new(ImConfig::new(
            base.to_owned(),
            SDKAPPID,
            "administrator",
            Secret::new(KEY),
        ))
        .unwrap(),
    )
}

/// A whiteboard message of the size classroom clients send: a stroke list of a few hundred
/// bytes, every fifth carrying its large payload as a file element too.
fn whiteboard(i: u32) -> SendGroupMsgRequest {
    let points: Vec<[u32; 2]> = (0..40).map(|k| [i % 1280 + k, (i * 7 + k) % 720]).collect();
    let data = json!({
        "data": json!([{"type": "draw", "color": "#3557d6", "width": 3, "points": points}]).to_string(),
        "seq": i,
        "timestamp": 5_000_000 + u64::from(i) * 37,
    })
    .to_string();
    let mut body = vec![MsgBodyElem {
        msg_type: "TIMCustomElem".into(),
        msg_content: json!({"Data": data, "Desc": "", "Ext": "TXWhiteBoardExt", "Sound": ""}),
    }];
    if i % 5 == 0 {
        body.push(MsgBodyElem {
            msg_type: "TIMFileElem".into(),
            msg_content: json!({"Url": format!("https://cos.example.invalid/wb/{i}.json"), "FileSize": 24_576, "FileName": format!("wb_{i}.json"), "Download_Flag": 2}),
        });
    }
    SendGroupMsgRequest {
        group_id: GROUP.into(),
        random: 7_000_000 + i,
        from_account: Some(
            if i % 2 == 0 {
                "teacher_li"
            } else {
                "student_wang"
            }
            .into(),
        ),
        msg_body: body,
        extra: Default::default(),
    }
}

async fn seed_group(emu_db: &Path, n: u32) {
    let emu = EmulatorProcess::spawn(false, emu_db);
    let client = im(&emu.base);
    client.create_group(GROUP, GROUP, "Public").await.unwrap();
    let mut set = tokio::task::JoinSet::new();
    for lane in 0..16u32 {
        let client = client.clone();
        set.spawn(async move {
            let mut i = lane;
            while i < n {
                client.send_group_msg(&whiteboard(i)).await.unwrap();
                i += 16;
            }
        });
    }
    while set.join_next().await.is_some() {}
    // The emulator saves its journal every 100 ms: let the last batch land.
    tokio::time::sleep(Duration::from_millis(800)).await;
}

async fn desk(dir: &Path, base: &str, limits: bool) -> ReplayDesk {
    let mut c = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        db: dir.join("replaydesk.db"),
        ui_dir: dir.join("no-ui"),
        ..Config::default()
    };
    c.im.endpoint = Some(base.to_owned());
    c.im.sdkappid = Some(SDKAPPID);
    c.im.secret_key = Some(Secret::new(KEY));
    c.delivery.app_rate = if limits { 200.0 } else { 0.0 };
    c.delivery.group_rate = if limits { 40.0 } else { 0.0 };
    ReplayDesk::start(c).await.expect("service starts")
}

async fn create_class(desk: &ReplayDesk, class: &str, group: &str) {
    desk.store()
        .create_class(&NewClass {
            class_id: class,
            group_id: group,
            teacher_uid: "teacher_li",
            report_token_sha256: &format!("{class}-token"),
            credential_key: "",
            legacy_class_token: false,
            open_enrolment: false,
            room_id: None,
        })
        .await
        .unwrap();
}

/// Runs an archive pass of `class` to its end; its wall time.
async fn archive(desk: &ReplayDesk, class: &str) -> Duration {
    let start = Instant::now();
    let job = desk
        .archive_now(class, &Actor::new("bench", Door::Cli))
        .await
        .unwrap()
        .job_id;
    loop {
        let r = desk.store().archive_run(job).await.unwrap().unwrap();
        if r.state != ArchiveRunState::Running {
            assert!(r.error.is_none(), "{r:?}");
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn file_bytes(dir: &Path) -> u64 {
    ["replaydesk.db", "replaydesk.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// Drains `n` messages over `groups` fresh groups, with an archive pass of the seeded
/// group running at the same time when `with_archive`; (drain wall time, archive time).
async fn drain(
    base: &str,
    n: usize,
    groups: usize,
    with_archive: bool,
    tag: &str,
) -> (Duration, Option<Duration>) {
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path(), base, true).await;
    let client = im(base);
    let classes: Vec<String> = (0..groups).map(|g| format!("{tag}-c{g}")).collect();
    let group_ids: Vec<String> = (0..groups).map(|g| format!("{tag}-g{g}")).collect();
    for (c, g) in classes.iter().zip(&group_ids) {
        create_class(&desk, c, g).await;
        client.create_group(g, g, "ChatRoom").await.unwrap();
    }
    create_class(&desk, "archived", GROUP).await;
    // Creating the groups used the emulator's app budget for this second: start clean.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let builders: Vec<_> = (0..n as u64)
        .map(|i| {
            move |seq: Seq| {
                ReplayMessage::new(
                    seq,
                    1_000 + i,
                    Payload::Timeline {
                        time_line: 1_795_339_200_000 + i as i64,
                        value: UserValue::new("teacher_li"),
                    },
                )
            }
        })
        .collect();
    let keys: Vec<String> = (0..n).map(|i| format!("{tag}:{i}")).collect();
    let msgs: Vec<NewMessage> = (0..n)
        .map(|i| NewMessage {
            class_id: &classes[i % groups],
            group_id: &group_ids[i % groups],
            uid: "teacher_li",
            dedup_key: &keys[i],
            build: &builders[i],
        })
        .collect();
    let start = Instant::now();
    for chunk in msgs.chunks(500) {
        desk.store().insert_messages(chunk).await.unwrap();
    }
    desk.delivery().wake();
    let archiving = with_archive.then(|| {
        let desk = desk.clone();
        tokio::spawn(async move { archive(&desk, "archived").await })
    });
    let sent = MessageFilter {
        statuses: vec![MessageStatus::Sent],
        ..Default::default()
    };
    while (desk.store().count_messages(&sent).await.unwrap() as usize) < n {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wall = start.elapsed();
    let archived = match archiving {
        Some(a) => Some(a.await.unwrap()),
        None => None,
    };
    desk.shutdown().await;
    (wall, archived)
}

/// Intake: `n` timeline reports recorded through the service (the path `POST
/// /v1/classes/{id}/timeline` takes after parsing), from 8 clients at once, alone or with
/// an archive pass of the seeded group started at the same moment; the wall time of the
/// reports (and of the pass).
async fn intake(
    base: &str,
    n: usize,
    with_archive: bool,
    tag: &str,
) -> (Duration, Option<Duration>) {
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path(), base, true).await;
    let class = format!("{tag}-intake");
    let group = format!("{tag}-intake-g");
    create_class(&desk, &class, &group).await;
    im(base)
        .create_group(&group, &group, "ChatRoom")
        .await
        .unwrap();
    create_class(&desk, "archived", GROUP).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pass = with_archive.then(|| {
        let d = desk.clone();
        tokio::spawn(async move { archive(&d, "archived").await })
    });
    let start = Instant::now();
    let clients = 8;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (d, class) = (desk.clone(), class.clone());
        tasks.push(tokio::spawn(async move {
            for i in (c..n).step_by(clients) {
                d.record_timeline(
                    &class,
                    replaydesk::service::TimelineReport {
                        uid: "teacher_li".into(),
                        timestamp: 1_000 + i as i64,
                        rtt_ms: Some(20.0),
                    },
                    replaydesk::service::ReportMeta {
                        received_at: 1_795_339_200_000 + i as i64,
                        body: String::new(),
                        kernel_rtt_ms: None,
                    },
                )
                .await
                .expect("report recorded");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let wall = start.elapsed();
    let pass = match pass {
        Some(p) => Some(p.await.unwrap()),
        None => None,
    };
    desk.shutdown().await;
    (wall, pass)
}

fn env_u32(name: &str) -> Option<u32> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let wb = env_u32("BENCH_WB").unwrap_or(if quick { 60 } else { 4_000 });
    let drain_n = env_u32("BENCH_DRAIN").unwrap_or(if quick { 60 } else { 3_000 }) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let tmp = tempfile::tempdir().unwrap();
        let emu_db = tmp.path().join("emulator.db");
        let t = Instant::now();
        seed_group(&emu_db, wb).await;
        eprintln!("seeded {wb} whiteboard messages in {:?}", t.elapsed());

        // Archive speed, ReplayDesk's limiter off (against an emulator without limits)
        // and on (against the IM's limits); bytes stored.
        let mut speed = Vec::new();
        let mut bytes = None;
        for limits in [false, true] {
            let emu = EmulatorProcess::spawn(limits, &emu_db);
            let dir = tempfile::tempdir().unwrap();
            let d = desk(dir.path(), &emu.base, limits).await;
            create_class(&d, "archived", GROUP).await;
            let before = file_bytes(dir.path());
            let wall = archive(&d, "archived").await;
            let held = d.store().archived_messages("archived").await.unwrap();
            assert_eq!(held, i64::from(wb));
            if bytes.is_none() {
                let rows = d.store().group_history("archived").await.unwrap();
                let text: usize = rows.iter().map(|(_, i)| i.len()).sum();
                let large: Vec<&String> =
                    rows.iter().map(|(_, i)| i).filter(|i| i.len() > 512).collect();
                let large_text: usize = large.iter().map(|i| i.len()).sum();
                let large_zlib: usize = large
                    .iter()
                    .map(|i| {
                        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
                        z.write_all(i.as_bytes()).unwrap();
                        z.finish().unwrap().len()
                    })
                    .sum();
                d.shutdown().await;
                let after = file_bytes(dir.path());
                bytes = Some((text, large.len(), large_text, large_zlib, after.saturating_sub(before)));
            } else {
                d.shutdown().await;
            }
            let stats = emu.stats().await;
            speed.push((limits, wall, stats["frequency_errors"].as_u64().unwrap_or(u64::MAX)));
        }

        // Delivery's drain against the IM's limits, alone and with a pass running.
        let emu = EmulatorProcess::spawn(true, &emu_db);
        let (alone, _) = drain(&emu.base, drain_n, 30, false, "alone").await;
        let (with, archived) = drain(&emu.base, drain_n, 30, true, "with").await;
        let stats = emu.stats().await;
        // Intake: a report burst alone and with a pass running, same emulator, same run.
        let intake_n = env_u32("BENCH_INTAKE").unwrap_or(if quick { 40 } else { 4_000 }) as usize;
        let (intake_alone, _) = intake(&emu.base, intake_n, false, "ia").await;
        let (intake_with, intake_pass) = intake(&emu.base, intake_n, true, "iw").await;

        let cores = std::thread::available_parallelism().map(|c| c.get()).unwrap_or(1);
        println!(
            "\narchive: {wb} whiteboard messages (every fifth with a file element) in one group, \
             `replaydesk im-emulator` in its own process, {cores} cores{}\n",
            if quick { " (quick run)" } else { "" }
        );
        let (text, large_n, large_text, large_zlib, disk) = bytes.unwrap();
        println!("| stored | bytes |");
        println!("|---|---:|");
        println!("| item JSON per message (as the IM returned it) | {:.0} |", text as f64 / f64::from(wb));
        println!("| database + WAL growth per message | {:.0} |", disk as f64 / f64::from(wb));
        println!(
            "| items over 512 bytes: {large_n} of {wb}, per item as text / zlib | {:.0} / {:.0} |",
            large_text as f64 / large_n.max(1) as f64,
            large_zlib as f64 / large_n.max(1) as f64
        );
        println!();
        println!("| archive pass | wall | messages/s | pages/s | frequency errors (emulator) |");
        println!("|---|---:|---:|---:|---:|");
        for (limits, wall, errors) in &speed {
            let s = wall.as_secs_f64();
            println!(
                "| ReplayDesk's limiter {} | {:.2} s | {:.0} | {:.0} | {errors} |",
                if *limits { "on (200/s)" } else { "off" },
                s,
                f64::from(wb) / s,
                f64::from(wb).div_euclid(20.0) / s
            );
        }
        println!();
        println!("| drain of {drain_n} messages over 30 groups, IM limits on | wall | sent/s |");
        println!("|---|---:|---:|");
        for (what, wall) in [("alone", alone), ("with an archive pass running", with)] {
            println!(
                "| {what} | {:.2} s | {:.0} |",
                wall.as_secs_f64(),
                drain_n as f64 / wall.as_secs_f64()
            );
        }
        println!(
            "\ndrain with archiving / alone: {:+.1} %; the pass took {:.2} s; emulator frequency errors over both drains: {}",
            100.0 * (with.as_secs_f64() / alone.as_secs_f64() - 1.0),
            archived.map_or(0.0, |a| a.as_secs_f64()),
            stats["frequency_errors"]
        );
        println!();
        println!("| intake: {intake_n} timeline reports, 8 clients at once | wall | reports/s |");
        println!("|---|---:|---:|");
        for (what, wall) in [("alone", intake_alone), ("with an archive pass running", intake_with)] {
            println!(
                "| {what} | {:.2} s | {:.0} |",
                wall.as_secs_f64(),
                intake_n as f64 / wall.as_secs_f64()
            );
        }
        println!(
            "\nintake with archiving / alone: {:+.1} %; the pass took {:.2} s",
            100.0 * (intake_with.as_secs_f64() / intake_alone.as_secs_f64() - 1.0),
            intake_pass.map_or(0.0, |a| a.as_secs_f64()),
        );
    });
}
