//! The chaos run (issue 11): the real `replaydesk serve`, a second worker process
//! (`replaydesk deliver`) on the same SQLite file, and the IM emulator
//! (`replaydesk im-emulator`), all separate OS processes on loopback. Concurrent clients
//! post timeline reports, class start/end and signed recording callbacks, repeating some;
//! meanwhile serve and deliver are SIGKILLed at random moments and restarted, the emulator
//! injects error codes, HTTP 500s, lost responses (applied, answer dropped), latency and
//! frequency errors, and the IM key is rotated (emulator first, then serve's admin API,
//! then the worker restarted with the new key: sends in between are refused and must be
//! retried).
//!
//! Then an independent checker reads every group's history through the emulator's
//! `group_msg_get_simple` over HTTP, paging backwards, and compares it with what the
//! clients were told. It uses neither ReplayDesk's database nor its delivery code, nor its
//! protocol types: the expected `Data` of each acknowledged report is written here from the
//! report and the answer (`seq`, `time_line`), byte for byte. Only the UserSig for the
//! checker's own IM calls comes from the library (`im::usersig`, the signing algorithm).
//!
//! This short version (about 30 s of load, at least 3 kills) runs in `cargo test`. The long
//! one is `scripts/chaos.sh`: the same test with `CHAOS_SECS`, `CHAOS_CLIENTS`,
//! `CHAOS_CLASSES`, `CHAOS_MIN_KILLS`, `CHAOS_MIN_OPS` and `CHAOS_ROTATE_EVERY_SECS` raised
//! (docs/testing.md, "Chaos").
//!
//! One file although long: it is one run (the processes, the clients, the killer and the final
//! audit share that run's state); its sections are the run's phases, in order.
#![cfg(unix)]

use crate::util;
use crate::util::process::{
    sigkill_and_wait, sigterm_and_wait, DeliverCommand, ServeCommand, Served,
};
use base64::Engine as _;
use md5::{Digest as _, Md5};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SDKAPPID: u64 = 1_400_000_011;
const ADMIN_TOKEN: &str = "chaos-admin-token-5f0c2a9e71d4";
const CALLBACK_KEY: &str = "chaos-callback-key-0b8e4d1f";
const IM_ADMIN: &str = "administrator";
/// The IM keys in force one after the other: every rotation moves to the next.
const KEYS: [&str; 6] = [
    "chaoskey0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6",
    "chaoskey1f0e1d2c3b4a59687766554433221100ffeeddccbbaa99887766554433",
    "chaoskey2aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55a",
    "chaoskey30123456789abcdef0123456789abcdef0123456789abcdef012345678",
    "chaoskey4fedcba9876543210fedcba9876543210fedcba9876543210fedcba987",
    "chaoskey5c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c",
];
/// Retries enough that no message runs out of them under these fault rates (a message
/// that did would be `failed`, and counted lost).
const RETRY_SCHEDULE: &str = "20ms,50ms,100ms,200ms,300ms,500ms,500ms,700ms,700ms,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s";

/// The run's size, from the environment (defaults: the short version).
#[derive(Debug, Clone)]
struct Plan {
    load_secs: u64,
    clients: usize,
    classes: usize,
    min_kills: u64,
    min_ops: u64,
    /// Seconds between kills, drawn uniformly from this range.
    kill_every_ms: (u64, u64),
    /// A key rotation this often (the first half-way through a short run).
    rotate_every_secs: u64,
    drain_timeout_secs: u64,
    /// A latency spike (1.5-3 s answers for 3 s) this often, the first half-way to it.
    spike_every_secs: u64,
    /// The emulator's per-group limit (messages a second): below what the two workers may
    /// send together, so backlogs after a kill or a key switch meet real frequency errors.
    im_group_rate: u64,
    seed: u64,
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        _ => default,
    }
}

impl Plan {
    fn from_env() -> Self {
        let load_secs = env_u64("CHAOS_SECS", 30);
        Self {
            load_secs,
            clients: env_u64("CHAOS_CLIENTS", 8) as usize,
            classes: env_u64("CHAOS_CLASSES", 6) as usize,
            min_kills: env_u64("CHAOS_MIN_KILLS", 3),
            min_ops: env_u64("CHAOS_MIN_OPS", 0),
            kill_every_ms: (
                env_u64("CHAOS_KILL_MIN_MS", 2_500),
                env_u64("CHAOS_KILL_MAX_MS", 5_000),
            ),
            rotate_every_secs: env_u64("CHAOS_ROTATE_EVERY_SECS", load_secs / 2 + 1),
            drain_timeout_secs: env_u64("CHAOS_DRAIN_TIMEOUT_SECS", 240),
            spike_every_secs: env_u64("CHAOS_SPIKE_EVERY_SECS", load_secs / 2 + 1),
            im_group_rate: env_u64("CHAOS_IM_GROUP_RATE", 30),
            seed: env_u64("CHAOS_SEED", rand::random::<u32>() as u64),
        }
    }
}

// ---------------------------------------------------------------------------------------
// What the clients sent and were told.

/// One logical message a client asked for, by what makes it that message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    /// A 1003: group, uid, client timestamp.
    Timeline(String, String, i64),
    /// The class's one 1001.
    Start(String),
    /// The class's one 1002.
    End(String),
    /// A 1004: group, file id.
    Recording(String, String),
}

#[derive(Debug, Default)]
struct Sent {
    /// The `Data` the message must carry, once the answer filled in what the server picks
    /// (`None` until acknowledged, or for a 1004, whose `seq` nobody is told).
    expected: Option<String>,
    acked: u64,
    /// The time window (unix s) a 1004's server timestamp must fall in.
    first_sent_s: i64,
    last_acked_s: i64,
    /// A repeat was answered with another message than the first answer: a second message.
    conflicting_answers: u64,
    /// What identifies the answer (`message_id`, `seq`), for comparing repeats.
    answer: Option<(i64, u64)>,
}

#[derive(Default)]
struct Ledger {
    sent: Mutex<HashMap<Key, Sent>>,
    ops: AtomicU64,
    acked_ops: AtomicU64,
    repeats: AtomicU64,
    refused: AtomicU64,
    /// Refusals by HTTP status (409: a start after the class ended; 503: a server stopping).
    refused_by_status: Mutex<BTreeMap<u16, u64>>,
    transport_errors: AtomicU64,
}

fn unix_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl Ledger {
    fn note_sent(&self, key: &Key) {
        let mut sent = self.sent.lock().unwrap();
        let e = sent.entry(key.clone()).or_default();
        if e.first_sent_s == 0 {
            e.first_sent_s = unix_s();
        }
    }

    /// A 2xx: `answer` is what identifies the message, `expected` its `Data`.
    fn note_acked(&self, key: &Key, answer: Option<(i64, u64)>, expected: Option<String>) {
        let mut sent = self.sent.lock().unwrap();
        let e = sent.entry(key.clone()).or_default();
        e.acked += 1;
        e.last_acked_s = unix_s();
        if let Some(a) = answer {
            match e.answer {
                Some(first) if first != a => e.conflicting_answers += 1,
                Some(_) => {}
                None => e.answer = Some(a),
            }
        }
        if e.expected.is_none() {
            e.expected = expected;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The processes.

struct Fleet {
    dir: PathBuf,
    db: PathBuf,
    emulator: util::process::EmulatorProcess,
    serve: Option<Served>,
    /// Fixed after the first start, so clients keep their URL across restarts.
    serve_addr: String,
    deliver: Option<Child>,
    key_index: usize,
    serve_kills: u64,
    deliver_kills: u64,
    rotations: u64,
}

impl Fleet {
    fn serve_command(&self) -> ServeCommand<'_> {
        ServeCommand::new(&self.dir, &self.db)
            .listen(&self.serve_addr)
            .env("REPLAYDESK_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("REPLAYDESK_CALLBACK_KEY", CALLBACK_KEY)
            .env("REPLAYDESK_CALLBACK_RATE_PER_SOURCE", "0")
            // A load run: every client reports far faster than a classroom client.
            .env("REPLAYDESK_LIMITS_REPORTS_PER_CREDENTIAL", "0")
            .env("REPLAYDESK_LIMITS_REPORTS_PER_CLASS", "0")
            .env("REPLAYDESK_IM_ENDPOINT", self.emulator.base.clone())
            .env("REPLAYDESK_IM_SDKAPPID", SDKAPPID.to_string())
            // Always the first key: after a rotation, serve must use the key fixed through
            // its admin API (kept beside the database), not this one.
            .env("REPLAYDESK_IM_SECRET_KEY", KEYS[0])
            .env("REPLAYDESK_DELIVERY_RETRY_SCHEDULE", RETRY_SCHEDULE)
            .env("REPLAYDESK_DELIVERY_LEASE", "2s")
            .env("REPLAYDESK_DELIVERY_CONCURRENCY", "16")
            .env("REPLAYDESK_DELIVERY_GROUP_RATE", "40")
            .env("REPLAYDESK_DELIVERY_APP_RATE", "400")
            .env("REPLAYDESK_SHUTDOWN_GRACE_SECS", "5")
            .env("RUST_LOG", "warn,replaydesk_server=info")
    }

    /// Starts serve; a restart retries while the killed one's port is not free yet.
    fn start_serve(&mut self) {
        let mut last = String::new();
        for _ in 0..40 {
            match self.serve_command().try_spawn() {
                Ok(s) => {
                    self.serve_addr = s.addr().to_owned();
                    self.serve = Some(s);
                    return;
                }
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("serve does not start again: {last}");
    }

    fn start_deliver(&mut self) {
        let log = self.dir.join("deliver.log");
        let child = DeliverCommand::new(
            &self.db,
            &self.emulator.base,
            SDKAPPID,
            KEYS[self.key_index],
        )
        .args(&[
            "--schedule",
            RETRY_SCHEDULE,
            "--lease",
            "2s",
            "--concurrency",
            "16",
            "--group-rate",
            "40",
            "--app-rate",
            "400",
        ])
        .log_file(&log)
        .spawn();
        self.deliver = Some(child);
    }

    fn kill_serve(&mut self) {
        if let Some(mut s) = self.serve.take() {
            let status = sigkill_and_wait(&mut s.child);
            assert!(!status.success(), "serve was killed, not exited: {status}");
            self.serve_kills += 1;
        }
    }

    fn kill_deliver(&mut self) {
        if let Some(mut c) = self.deliver.take() {
            let status = sigkill_and_wait(&mut c);
            assert!(
                !status.success(),
                "deliver was killed, not exited: {status}"
            );
            self.deliver_kills += 1;
        }
    }

    fn base(&self) -> String {
        format!("http://{}", self.serve_addr)
    }

    /// Rotates the IM key the way an operator would, under load: the IM side first (every
    /// send with the old key is refused from then on and ReplayDesk pauses, keeping every
    /// message), then serve through its admin API, then the separate worker restarted with
    /// the new key. `emulator_key` is the checker's copy.
    async fn rotate_key(
        &mut self,
        http: &reqwest::Client,
        emulator_key: &Mutex<String>,
        rng: &mut StdRng,
    ) {
        let new_key = KEYS[self.key_index + 1];
        // 1. The IM side takes the new key: from now on every send with the old one is
        //    refused (70009) and ReplayDesk pauses sending, keeping every message.
        let res = http
            .put(format!("{}/control/secret-key", self.emulator.base))
            .json(&json!({"secret_key": new_key}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        *emulator_key.lock().unwrap() = new_key.to_owned();
        tokio::time::sleep(Duration::from_millis(rng.random_range(300..1500))).await;
        // 2. The operator fixes the key on serve through the admin API.
        let mut fixed = false;
        for _ in 0..100 {
            if let Ok((204, _)) = admin(
                http,
                reqwest::Method::PUT,
                &format!("{}/v1/admin/im/secret-key", self.base()),
                Some(&json!({"secret_key": new_key})),
            )
            .await
            {
                fixed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(fixed, "serve took the new key");
        if rng.random_bool(0.5) {
            // Killed right after answering: the key it just took must be the one it uses
            // when started again (with the first key still in its environment).
            tokio::task::block_in_place(|| {
                self.kill_serve();
                self.start_serve();
            });
        }
        // 3. And restarts the separate worker with it.
        self.key_index += 1;
        self.rotations += 1;
        tokio::task::block_in_place(|| {
            if let Some(mut c) = self.deliver.take() {
                sigterm_and_wait(&mut c, Duration::from_secs(30));
            }
            self.start_deliver();
        });
    }
}

// ---------------------------------------------------------------------------------------
// The clients.

struct ClassInfo {
    class_id: String,
    group_id: String,
    teacher: String,
    token: String,
    start_ts: i64,
    end_ts: i64,
}

fn sign(t: i64) -> String {
    hex::encode(Md5::digest(format!("{CALLBACK_KEY}{t}").as_bytes()))
}

/// A recording callback as the streaming cloud sends it, for `file_id` pushed by `uid`.
fn callback_body(class: &ClassInfo, uid: &str, file_id: &str, n: i64) -> (Value, String) {
    let start = 1_795_339_000 + n;
    let end = start + 600 + n % 97;
    let duration = end - start - 3;
    let size = 10_000_000 + n * 7;
    let media_start = 1000 + n % 5000;
    let url = format!("https://1259990001.vod.example.invalid/{file_id}/f0.mp4");
    let t = unix_s() + 600;
    let uid_b64 = base64::engine::general_purpose::STANDARD.encode(uid);
    let stream = format!("1400000011_{}_{uid}_main", class.class_id);
    let body = json!({
        "event_type": 100,
        "appid": 1259990001,
        "stream_id": stream,
        "channel_id": stream,
        "file_id": file_id,
        "record_file_id": file_id,
        "file_format": "mp4",
        "task_id": format!("task{n}"),
        "start_time": start,
        "end_time": end,
        "duration": duration,
        "file_size": size,
        "stream_param": format!("txSecret=ab12&groupid={}&userid={}", class.group_id, urlencode(&uid_b64)),
        "video_url": url,
        "media_start_time": media_start,
        "t": t,
        "sign": sign(t),
    });
    let value = format!(
        r#"{{"uid":"{uid}","start_time":{start},"end_time":{end},"media_start_time":{media_start},"file_size":{size},"duration":{duration},"video_id":"{file_id}","video_url":"{url}","type":"main"}}"#
    );
    // `type`: the stream id ends `_main` (a camera), docs/protocol.md section 4.
    (body, value)
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

/// One request of a client, repeated as a real client would on no answer.
#[derive(Clone)]
struct Op {
    key: Key,
    path: String,
    bearer: Option<String>,
    body: Value,
    kind: OpKind,
}

#[derive(Clone, Copy, PartialEq)]
enum OpKind {
    Timeline,
    Start,
    End,
    Recording,
}

async fn send(http: &reqwest::Client, base: &str, ledger: &Ledger, op: &Op) -> bool {
    ledger.note_sent(&op.key);
    ledger.ops.fetch_add(1, Ordering::Relaxed);
    let mut req = http.post(format!("{base}{}", op.path)).json(&op.body);
    if let Some(t) = &op.bearer {
        req = req.bearer_auth(t);
    }
    let res = match req.send().await {
        Ok(r) => r,
        Err(_) => {
            ledger.transport_errors.fetch_add(1, Ordering::Relaxed);
            return false;
        }
    };
    let status = res.status();
    let Ok(v) = res.json::<Value>().await else {
        ledger.transport_errors.fetch_add(1, Ordering::Relaxed);
        return false;
    };
    if !status.is_success() {
        ledger.refused.fetch_add(1, Ordering::Relaxed);
        *ledger
            .refused_by_status
            .lock()
            .unwrap()
            .entry(status.as_u16())
            .or_default() += 1;
        return false;
    }
    ledger.acked_ops.fetch_add(1, Ordering::Relaxed);
    let answer = v["message_id"].as_i64().zip(v["seq"].as_u64());
    let expected = match (&op.key, op.kind) {
        (Key::Timeline(_, uid, ts), _) => {
            let (Some((_, seq)), Some(tl)) = (answer, v["time_line"].as_i64()) else {
                panic!("a 202 without seq and time_line: {v}");
            };
            Some(format!(
                r#"{{"type":1003,"seq":{seq},"timestamp":{ts},"time_line":{tl},"value":{{"uid":"{uid}"}}}}"#
            ))
        }
        (Key::Start(_) | Key::End(_), kind) => {
            let (_, seq) = answer.unwrap_or_else(|| panic!("a 202 without seq: {v}"));
            let code = if kind == OpKind::Start { 1001 } else { 1002 };
            let (uid, ts) = (
                op.body["uid"].as_str().unwrap(),
                op.body["timestamp"].as_i64().unwrap(),
            );
            Some(format!(
                r#"{{"type":{code},"seq":{seq},"timestamp":{ts},"value":{{"uid":"{uid}"}}}}"#
            ))
        }
        (Key::Recording(..), _) => {
            assert_eq!(v, json!({"code": 0}), "the cloud's acknowledgement");
            None
        }
    };
    ledger.note_acked(&op.key, answer, expected);
    true
}

/// Sends until answered 2xx, at most 4 times (a client that gives up is a report not
/// acknowledged: it may or may not be in the group, once at most).
async fn send_with_retries(http: &reqwest::Client, base: &str, ledger: &Ledger, op: &Op) {
    for attempt in 0..4 {
        if attempt > 0 {
            ledger.repeats.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
        }
        if send(http, base, ledger, op).await {
            return;
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn client(
    id: usize,
    base: String,
    classes: Arc<Vec<ClassInfo>>,
    recording_values: Arc<Mutex<HashMap<Key, String>>>,
    ledger: Arc<Ledger>,
    stop: Arc<AtomicBool>,
    ends_allowed: Arc<AtomicBool>,
    seed: u64,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut recent: Vec<Op> = Vec::new();
    let mut n: i64 = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let class = &classes[rng.random_range(0..classes.len())];
        let roll = rng.random_range(0..100);
        let op = if roll < 15 && !recent.is_empty() {
            // The same request again: a client retrying, or the cloud re-sending.
            ledger.repeats.fetch_add(1, Ordering::Relaxed);
            let mut op = recent[rng.random_range(0..recent.len())].clone();
            if op.kind == OpKind::Recording && rng.random_bool(0.5) {
                // The cloud's retry may carry a new expiry `t` and sign: the same file.
                let t = unix_s() + 600;
                op.body["t"] = t.into();
                op.body["sign"] = sign(t).into();
            }
            op
        } else if roll < 27 {
            let uid = format!("s{id}_{}", rng.random_range(0..3));
            let file_id = format!("f{id}x{n}");
            let (body, value) = callback_body(class, &uid, &file_id, n);
            let key = Key::Recording(class.group_id.clone(), file_id);
            recording_values.lock().unwrap().insert(key.clone(), value);
            Op {
                key,
                path: "/v1/callbacks/recording".into(),
                bearer: None,
                body,
                kind: OpKind::Recording,
            }
        } else if roll < 31 {
            Op {
                key: Key::Start(class.group_id.clone()),
                path: format!("/v1/classes/{}/start", class.class_id),
                bearer: Some(class.token.clone()),
                body: json!({"uid": class.teacher, "timestamp": class.start_ts}),
                kind: OpKind::Start,
            }
        } else if roll < 33 && ends_allowed.load(Ordering::Relaxed) {
            Op {
                key: Key::End(class.group_id.clone()),
                path: format!("/v1/classes/{}/end", class.class_id),
                bearer: Some(class.token.clone()),
                body: json!({"uid": class.teacher, "timestamp": class.end_ts}),
                kind: OpKind::End,
            }
        } else {
            let uid = format!("s{id}_{}", rng.random_range(0..3));
            let ts = 10_000_000 * (id as i64 + 1) + n;
            let rtt = rng.random_range(0..40);
            Op {
                key: Key::Timeline(class.group_id.clone(), uid.clone(), ts),
                path: format!("/v1/classes/{}/timeline", class.class_id),
                bearer: Some(class.token.clone()),
                body: json!({"uid": uid, "timestamp": ts, "rtt_ms": rtt}),
                kind: OpKind::Timeline,
            }
        };
        if rng.random_bool(0.05) {
            // The same request twice at once (a client retrying on a timeout while the
            // first is still being handled; the cloud re-sending a slow callback).
            ledger.repeats.fetch_add(1, Ordering::Relaxed);
            tokio::join!(
                send_with_retries(&http, &base, &ledger, &op),
                send_with_retries(&http, &base, &ledger, &op)
            );
        } else {
            send_with_retries(&http, &base, &ledger, &op).await;
        }
        if recent.len() < 64 {
            recent.push(op);
        } else {
            let i = rng.random_range(0..recent.len());
            recent[i] = op;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The independent checker: the groups as the IM service holds them.

struct Checker {
    http: reqwest::Client,
    base: String,
    /// The key in force at the emulator (rotations change it).
    key: Arc<Mutex<String>>,
    /// Each group's messages by `MsgSeq`, as read so far (histories only grow).
    seen: HashMap<String, BTreeMap<u64, Value>>,
    calls: u64,
}

impl Checker {
    async fn call(&mut self, body: &Value) -> Value {
        for _ in 0..200 {
            self.calls += 1;
            let key = self.key.lock().unwrap().clone();
            let sig = replaydesk::im::usersig::generate(SDKAPPID, IM_ADMIN, &key, unix_s(), 3600);
            let url = format!(
                "{}/v4/group_open_http_svc/group_msg_get_simple?sdkappid={SDKAPPID}&identifier={IM_ADMIN}&usersig={sig}&random={}&contenttype=json",
                self.base,
                rand::random::<u32>()
            );
            if let Ok(res) = self.http.post(url).json(body).send().await {
                if let Ok(v) = res.json::<Value>().await {
                    if v["ErrorCode"] == 0 {
                        return v;
                    }
                }
            }
            // A frequency limit, or a call during a key switch: again shortly.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("group_msg_get_simple keeps failing for {body}");
    }

    /// Reads the group's new messages, newest first, back to the first one already seen.
    async fn refresh(&mut self, group: &str) {
        let known_max = self
            .seen
            .get(group)
            .and_then(|m| m.keys().next_back().copied())
            .unwrap_or(0);
        let mut newest: Option<u64> = None;
        loop {
            let mut body = json!({"GroupId": group, "ReqMsgNumber": 20});
            if let Some(n) = newest {
                body["ReqMsgSeq"] = n.into();
            }
            let v = self.call(&body).await;
            let list = v["RspMsgList"].as_array().cloned().unwrap_or_default();
            let mut lowest = u64::MAX;
            let mut reached_known = false;
            let entry = self.seen.entry(group.to_owned()).or_default();
            for m in list {
                let seq = m["MsgSeq"].as_u64().expect("MsgSeq");
                lowest = lowest.min(seq);
                if seq <= known_max {
                    reached_known = true;
                    continue;
                }
                entry.insert(seq, m);
            }
            if reached_known || v["IsFinished"] == 1 || lowest == u64::MAX || lowest <= 1 {
                return;
            }
            newest = Some(lowest - 1);
        }
    }
}

/// What the groups say against what the clients sent and were told.
#[derive(Debug, Default)]
struct Verdict {
    acknowledged: usize,
    present_once: usize,
    lost: Vec<Key>,
    duplicated: Vec<Key>,
    /// A protocol `seq` carried by two messages of one group (players would merge them).
    seq_reused: Vec<String>,
    invented: Vec<String>,
    wrong_data: Vec<String>,
    conflicting_answers: u64,
    delivered_unacknowledged: usize,
    messages_in_groups: usize,
}

fn data_of(m: &Value) -> Option<String> {
    m["MsgBody"].as_array()?.iter().find_map(|e| {
        (e["MsgType"] == "TIMCustomElem")
            .then(|| e["MsgContent"]["Data"].as_str().map(str::to_owned))
            .flatten()
    })
}

fn judge(
    seen: &HashMap<String, BTreeMap<u64, Value>>,
    sent: &HashMap<Key, Sent>,
    recording_values: &HashMap<Key, String>,
) -> Verdict {
    let mut v = Verdict::default();
    let mut found: HashMap<Key, Vec<String>> = HashMap::new();
    let mut recording_times: HashMap<Key, i64> = HashMap::new();
    for (group, msgs) in seen {
        let mut protocol_seqs = HashSet::new();
        for m in msgs.values() {
            v.messages_in_groups += 1;
            let Some(data) = data_of(m) else {
                v.invented
                    .push(format!("{group}: a message with no custom Data: {m}"));
                continue;
            };
            let Ok(d) = serde_json::from_str::<Value>(&data) else {
                v.invented
                    .push(format!("{group}: Data is not JSON: {data}"));
                continue;
            };
            if let Some(s) = d["seq"].as_u64() {
                if !protocol_seqs.insert(s) {
                    v.seq_reused.push(format!("{group}: seq {s}: {data}"));
                }
            }
            let uid = d["value"]["uid"].as_str().unwrap_or_default().to_owned();
            let key = match d["type"].as_i64() {
                Some(1003) => {
                    Key::Timeline(group.clone(), uid, d["timestamp"].as_i64().unwrap_or(-1))
                }
                Some(1001) => Key::Start(group.clone()),
                Some(1002) => Key::End(group.clone()),
                Some(1004) => {
                    let k = Key::Recording(
                        group.clone(),
                        d["value"]["video_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                    recording_times.insert(k.clone(), d["timestamp"].as_i64().unwrap_or(-1));
                    k
                }
                _ => {
                    v.invented.push(format!("{group}: unknown type: {data}"));
                    continue;
                }
            };
            found.entry(key).or_default().push(data);
        }
    }
    for (key, datas) in &found {
        let Some(s) = sent.get(key) else {
            v.invented.push(format!("{key:?}: {}", datas[0]));
            continue;
        };
        if datas.len() > 1 {
            v.duplicated.push(key.clone());
        }
        if s.acked == 0 {
            v.delivered_unacknowledged += 1;
            // Sent but never answered (a kill, a client that gave up): nobody was told
            // its seq, and it may be there, once.
            continue;
        }
        let expected = match key {
            Key::Recording(..) => {
                // The seq and the server's timestamp are nobody's to predict: taken from
                // the message, the timestamp checked to fall between send and answer.
                let d: Value = serde_json::from_str(&datas[0]).unwrap();
                let ts = recording_times[key];
                if ts < s.first_sent_s - 1 || ts > s.last_acked_s + 1 {
                    v.wrong_data.push(format!(
                        "{key:?}: timestamp {ts} outside {}..={}",
                        s.first_sent_s, s.last_acked_s
                    ));
                }
                format!(
                    r#"{{"type":1004,"seq":{},"timestamp":{ts},"value":{}}}"#,
                    d["seq"], recording_values[key]
                )
            }
            _ => s.expected.clone().expect("an acknowledged report's Data"),
        };
        if datas[0] != expected {
            v.wrong_data.push(format!(
                "{key:?}:\n  got      {}\n  expected {expected}",
                datas[0]
            ));
        }
    }
    for (key, s) in sent {
        v.conflicting_answers += s.conflicting_answers;
        if s.acked == 0 {
            continue;
        }
        v.acknowledged += 1;
        match found.get(key).map(Vec::len) {
            None => v.lost.push(key.clone()),
            Some(1) => v.present_once += 1,
            Some(_) => {}
        }
    }
    v
}

// ---------------------------------------------------------------------------------------
// Admin calls on serve.

async fn admin(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let mut req = http.request(method, url).bearer_auth(ADMIN_TOKEN);
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let text = res.text().await.map_err(|e| e.to_string())?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

async fn put_faults(http: &reqwest::Client, emu_base: &str, faults: &Value) {
    let res = http
        .put(format!("{emu_base}/control/faults"))
        .json(faults)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "faults taken");
}

/// Messages not yet `sent` (pending, sending, retrying) and `failed`, over every class.
async fn outbox(http: &reqwest::Client, base: &str) -> Option<(i64, i64)> {
    let (s, v) = admin(
        http,
        reqwest::Method::GET,
        &format!("{base}/v1/admin/classes"),
        None,
    )
    .await
    .ok()?;
    if s != 200 {
        return None;
    }
    let items = v.as_array().or_else(|| v["items"].as_array())?.clone();
    let (mut open, mut failed) = (0, 0);
    for c in items {
        let n = &c["counts"];
        open += n["pending"].as_i64()? + n["sending"].as_i64()? + n["retrying"].as_i64()?;
        failed += n["failed"].as_i64()?;
    }
    Some((open, failed))
}

// ---------------------------------------------------------------------------------------
// The run.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chaos_run_loses_nothing_acknowledged_and_duplicates_nothing() {
    let plan = Plan::from_env();
    eprintln!("chaos plan: {plan:?}");
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replaydesk.db");
    // Faults on every send: error codes (transient and frequency), HTTP 500s, answers lost
    // after the message was stored, latency; and a per-group limit below what the two
    // workers together send, so real frequency errors come too.
    let emulator = util::process::spawn_emulator(
        SDKAPPID,
        KEYS[0],
        &[
            "--fail-rate",
            "0.06",
            "--fail-codes",
            "10002,10006,10023,60011",
            "--http500-rate",
            "0.02",
            "--lost-response-rate",
            "0.06",
            "--latency-ms",
            "2",
            "--latency-jitter-ms",
            "25",
            "--group-rate",
            &plan.im_group_rate.to_string(),
            "--app-rate",
            "600",
        ],
    );
    let emu_base = emulator.base.clone();
    let mut fleet = Fleet {
        dir: dir.path().to_owned(),
        db: db.clone(),
        emulator,
        serve: None,
        serve_addr: "127.0.0.1:0".into(),
        deliver: None,
        key_index: 0,
        serve_kills: 0,
        deliver_kills: 0,
        rotations: 0,
    };
    tokio::task::block_in_place(|| fleet.start_serve());
    let base = fleet.base();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    // The classes, each with its ReplayGroup created at the emulator.
    let mut classes = Vec::new();
    for i in 0..plan.classes {
        let (class_id, group_id) = (format!("chaos{i}"), format!("replay_chaos{i}"));
        let teacher = format!("teacher_{i}");
        let (s, v) = admin(
            &http,
            reqwest::Method::POST,
            &format!("{base}/v1/classes"),
            Some(&json!({"class_id": class_id, "group_id": group_id, "teacher_uid": teacher, "create_group": true, "legacy_class_token": true, "open_enrolment": true})),
        )
        .await
        .unwrap();
        assert_eq!(s, 201, "create class {class_id}: {v}");
        classes.push(ClassInfo {
            class_id,
            group_id,
            teacher,
            token: v["report_token"].as_str().unwrap().to_owned(),
            start_ts: 5_000_000 + i as i64,
            end_ts: 9_000_000 + i as i64,
        });
    }
    tokio::task::block_in_place(|| fleet.start_deliver());

    let classes = Arc::new(classes);
    let ledger = Arc::new(Ledger::default());
    let recording_values = Arc::new(Mutex::new(HashMap::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let ends_allowed = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for id in 0..plan.clients {
        clients.push(tokio::spawn(client(
            id,
            base.clone(),
            classes.clone(),
            recording_values.clone(),
            ledger.clone(),
            stop.clone(),
            ends_allowed.clone(),
            plan.seed ^ (id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        )));
    }

    // Meanwhile: kills at random moments, and key rotations.
    let emulator_key = Arc::new(Mutex::new(KEYS[0].to_owned()));
    let started = Instant::now();
    let load = Duration::from_secs(plan.load_secs);
    let mut next_kill =
        Duration::from_millis(rng.random_range(plan.kill_every_ms.0..=plan.kill_every_ms.1));
    let mut next_rotation = Duration::from_secs(plan.rotate_every_secs);
    let mut kill_serve_next = rng.random_bool(0.5);
    let baseline_faults: Value = http
        .get(format!("{emu_base}/control/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut next_spike = Duration::from_secs(plan.spike_every_secs / 2);
    let mut spikes = 0u64;
    while started.elapsed() < load {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = started.elapsed();
        if now >= load.mul_f64(0.8) {
            ends_allowed.store(true, Ordering::Relaxed);
        }
        if now >= next_kill {
            next_kill = now
                + Duration::from_millis(
                    rng.random_range(plan.kill_every_ms.0..=plan.kill_every_ms.1),
                );
            let down = Duration::from_millis(rng.random_range(0..800));
            if rng.random_bool(0.15) {
                // Both at the same moment.
                tokio::task::block_in_place(|| {
                    fleet.kill_serve();
                    fleet.kill_deliver();
                    std::thread::sleep(down);
                    fleet.start_serve();
                    fleet.start_deliver();
                });
            } else if kill_serve_next {
                tokio::task::block_in_place(|| {
                    fleet.kill_serve();
                    std::thread::sleep(down);
                    fleet.start_serve();
                });
            } else {
                tokio::task::block_in_place(|| {
                    fleet.kill_deliver();
                    std::thread::sleep(down);
                    fleet.start_deliver();
                });
            }
            // Mostly alternating, sometimes the same one twice.
            kill_serve_next = if rng.random_bool(0.8) {
                !kill_serve_next
            } else {
                kill_serve_next
            };
        }
        if now >= next_spike {
            next_spike = now + Duration::from_secs(plan.spike_every_secs);
            // A few seconds of answers slower than the workers' 2 s lease: leases must be
            // renewed while attempts hang, or another worker takes the message over.
            let mut slow = baseline_faults.clone();
            slow["latency_ms"] = 1500.into();
            slow["latency_jitter_ms"] = 1500.into();
            put_faults(&http, &emu_base, &slow).await;
            tokio::time::sleep(Duration::from_secs(3)).await;
            put_faults(&http, &emu_base, &baseline_faults).await;
            spikes += 1;
        }
        if now >= next_rotation && fleet.key_index + 1 < KEYS.len() {
            next_rotation = now + Duration::from_secs(plan.rotate_every_secs);
            fleet.rotate_key(&http, &emulator_key, &mut rng).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let load_elapsed = started.elapsed();
    // The classes end, if no client ended them (repeats included).
    let end_http = reqwest::Client::new();
    for class in classes.iter() {
        for _ in 0..2 {
            let op = Op {
                key: Key::End(class.group_id.clone()),
                path: format!("/v1/classes/{}/end", class.class_id),
                bearer: Some(class.token.clone()),
                body: json!({"uid": class.teacher, "timestamp": class.end_ts}),
                kind: OpKind::End,
            };
            send_with_retries(&end_http, &base, &ledger, &op).await;
        }
    }
    let load_done = Instant::now();

    // Drain: every acknowledged message in its group, and ReplayDesk's outbox empty.
    let mut checker = Checker {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        base: emu_base.clone(),
        key: emulator_key.clone(),
        seen: HashMap::new(),
        calls: 0,
    };
    let groups: Vec<String> = classes.iter().map(|c| c.group_id.clone()).collect();
    let drain_deadline = load_done + Duration::from_secs(plan.drain_timeout_secs);
    let mut failed_in_outbox = 0;
    let mut empty_readings = 0;
    let drained = loop {
        for g in &groups {
            checker.refresh(g).await;
        }
        let verdict = {
            let sent = ledger.sent.lock().unwrap();
            judge(&checker.seen, &sent, &recording_values.lock().unwrap())
        };
        let outbox = outbox(&http, &base).await;
        if let Some((_, failed)) = outbox {
            failed_in_outbox = failed;
        }
        if matches!(outbox, Some((0, _))) {
            // Nothing left to send: done once every acknowledged message is there, or
            // after a few more readings that confirm some never will be (lost).
            empty_readings += 1;
            if verdict.lost.is_empty() || empty_readings >= 10 {
                break Some(load_done.elapsed());
            }
        } else {
            empty_readings = 0;
        }
        if Instant::now() > drain_deadline {
            eprintln!(
                "not drained after {}s: {} acknowledged missing, outbox {outbox:?}",
                plan.drain_timeout_secs,
                verdict.lost.len()
            );
            break None;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Stragglers (a late duplicate would be one) before the final reading.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for g in &groups {
        checker.refresh(g).await;
    }
    let verdict = {
        let sent = ledger.sent.lock().unwrap();
        judge(&checker.seen, &sent, &recording_values.lock().unwrap())
    };
    let stats: Value = http
        .get(format!("{emu_base}/control/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let kills = fleet.serve_kills + fleet.deliver_kills;
    let code = |c: &str| stats["per_error_code"][c].as_u64().unwrap_or(0);
    let report = json!({
        "seed": plan.seed,
        "load_secs": load_elapsed.as_secs_f64(),
        "clients": plan.clients,
        "classes": plan.classes,
        "operations": ledger.ops.load(Ordering::Relaxed),
        "acknowledged_operations": ledger.acked_ops.load(Ordering::Relaxed),
        "repeats": ledger.repeats.load(Ordering::Relaxed),
        "refused_operations": ledger.refused.load(Ordering::Relaxed),
        "refused_by_status": *ledger.refused_by_status.lock().unwrap(),
        "unanswered_operations": ledger.transport_errors.load(Ordering::Relaxed),
        "acknowledged_messages": verdict.acknowledged,
        "delivered_unacknowledged": verdict.delivered_unacknowledged,
        "messages_in_groups": verdict.messages_in_groups,
        "kills": kills,
        "serve_kills": fleet.serve_kills,
        "deliver_kills": fleet.deliver_kills,
        "key_rotations": fleet.rotations,
        "latency_spikes": spikes,
        "faults": {
            "injected_error_codes": stats["injected_failures"],
            "http500s": stats["http500s"],
            "lost_responses": stats["lost_responses"],
            "frequency_errors_of_the_limiters": stats["frequency_errors"],
            "frequency_codes_injected_10006_10023_60011": code("10006") + code("10023") + code("60011") - stats["frequency_errors"].as_u64().unwrap_or(0),
            "refused_old_key_70009": code("70009"),
            "duplicates_absorbed": stats["duplicates_absorbed"],
            "im_requests": stats["requests"],
        },
        "lost": verdict.lost.len(),
        "duplicated": verdict.duplicated.len(),
        "seq_reused": verdict.seq_reused.len(),
        "invented": verdict.invented.len(),
        "wrong_data": verdict.wrong_data.len(),
        "conflicting_answers": verdict.conflicting_answers,
        "failed_in_outbox": failed_in_outbox,
        "drain_secs": drained.map(|d| d.as_secs_f64()),
        "checker_history_calls": checker.calls,
    });
    eprintln!(
        "chaos report: {}",
        serde_json::to_string_pretty(&report).unwrap()
    );
    if let Ok(path) = std::env::var("CHAOS_REPORT") {
        std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    }
    for (what, list) in [
        (
            "lost",
            verdict
                .lost
                .iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>(),
        ),
        (
            "duplicated",
            verdict
                .duplicated
                .iter()
                .map(|k| format!("{k:?}"))
                .collect(),
        ),
        ("seq reused", verdict.seq_reused.clone()),
        ("invented", verdict.invented.clone()),
        ("wrong data", verdict.wrong_data.clone()),
    ] {
        for item in list.iter().take(10) {
            eprintln!("{what}: {item}");
        }
    }

    tokio::task::block_in_place(|| {
        if let Some(mut s) = fleet.serve.take() {
            sigterm_and_wait(&mut s.child, Duration::from_secs(30));
        }
        if let Some(mut c) = fleet.deliver.take() {
            sigterm_and_wait(&mut c, Duration::from_secs(30));
        }
    });

    assert!(drained.is_some(), "the outbox drained in time");
    assert_eq!(verdict.lost.len(), 0, "acknowledged and lost");
    assert_eq!(verdict.duplicated.len(), 0, "in a group twice");
    assert_eq!(verdict.seq_reused.len(), 0, "one seq on two messages");
    assert_eq!(verdict.invented.len(), 0, "in a group, never sent");
    assert_eq!(
        verdict.wrong_data.len(),
        0,
        "Data not what the report implies"
    );
    assert_eq!(
        verdict.conflicting_answers, 0,
        "a repeat answered as another message"
    );
    assert_eq!(verdict.present_once, verdict.acknowledged);
    assert!(
        kills >= plan.min_kills,
        "{kills} kills, wanted {}",
        plan.min_kills
    );
    assert!(
        fleet.serve_kills > 0 && fleet.deliver_kills > 0,
        "both killed"
    );
    assert!(fleet.rotations > 0, "the key was rotated");
    let ops = ledger.ops.load(Ordering::Relaxed);
    assert!(
        ops >= plan.min_ops,
        "{ops} operations, wanted {}",
        plan.min_ops
    );
    // The faults really came.
    for f in ["injected_failures", "lost_responses", "http500s"] {
        assert!(
            stats[f].as_u64().unwrap_or(0) > 0,
            "no {f} injected: {stats}"
        );
    }
    // Frequency errors: the limiters' own (how many depends on the backlogs) and the
    // injected codes together.
    assert!(
        code("10006") + code("10023") + code("60011") > 0,
        "no frequency errors: {stats}"
    );
    assert!(code("70009") > 0, "no send refused during the key switch");
}

/// The checker itself: each kind of wrong history is counted as what it is (so a clean
/// verdict above means something).
#[test]
fn the_checker_counts_lost_duplicated_reused_seq_invented_and_wrong_data() {
    let g = "replay_g".to_owned();
    let msg = |seq: u64, data: &str| json!({"MsgSeq": seq, "MsgBody": [{"MsgType": "TIMCustomElem", "MsgContent": {"Data": data}}]});
    let d = |seq: u64, ts: i64| {
        format!(
            r#"{{"type":1003,"seq":{seq},"timestamp":{ts},"time_line":7,"value":{{"uid":"u"}}}}"#
        )
    };
    let acked = |expected: String| Sent {
        expected: Some(expected),
        acked: 1,
        ..Sent::default()
    };
    let mut sent = HashMap::new();
    // ts 1: present once, as told. ts 2: acknowledged, absent. ts 3: twice. ts 4: other
    // Data than told. ts 5: sent, not acknowledged, present: allowed.
    for ts in 1..=4 {
        sent.insert(
            Key::Timeline(g.clone(), "u".into(), ts),
            acked(d(100 + ts as u64, ts)),
        );
    }
    sent.insert(Key::Timeline(g.clone(), "u".into(), 5), Sent::default());
    sent.insert(Key::Timeline(g.clone(), "u".into(), 7), Sent::default());
    let mut history = BTreeMap::new();
    history.insert(1, msg(1, &d(101, 1)));
    history.insert(2, msg(2, &d(103, 3)));
    history.insert(3, msg(3, &d(113, 3)));
    history.insert(4, msg(4, &d(104, 4).replace(":7,", ":8,")));
    history.insert(5, msg(5, &d(105, 5)));
    // Never sent by anyone.
    history.insert(6, msg(6, &d(106, 6)));
    // Sent, but carrying the seq of ts 1's message.
    history.insert(7, msg(7, &d(101, 7)));
    let seen = HashMap::from([(g.clone(), history)]);
    let v = judge(&seen, &sent, &HashMap::new());
    assert_eq!(v.lost, [Key::Timeline(g.clone(), "u".into(), 2)]);
    assert_eq!(v.duplicated, [Key::Timeline(g.clone(), "u".into(), 3)]);
    assert_eq!(v.invented.len(), 1, "{:?}", v.invented);
    assert!(v.invented[0].contains("106"));
    assert_eq!(v.wrong_data.len(), 1, "{:?}", v.wrong_data);
    assert!(v.wrong_data[0].contains("\"seq\":104"));
    assert_eq!(v.seq_reused.len(), 1, "{:?}", v.seq_reused);
    assert!(v.seq_reused[0].contains("seq 101"));
    assert_eq!(v.delivered_unacknowledged, 2);
    assert_eq!((v.acknowledged, v.present_once), (4, 2));
}
