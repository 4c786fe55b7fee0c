//! `replaydesk demo`: fills a running `replaydesk serve` with a small, realistic class so
//! that every console view has something to show, through the server's own HTTP API (as
//! real classroom clients, the streaming cloud and an admin would reach it).
//!
//! Why over HTTP and not straight into the database: `serve` owns the SQLite file (one
//! writer, one delivery worker); a second process writing it would race the worker and
//! bypass the checks (credentials, callback signature, validation) the demo should show
//! working. Over HTTP the data is exactly what real clients would have produced.
//!
//! What it makes: a class with a teacher and two students whose clocks are 32-bit
//! millisecond counters (the teacher's wraps past 2^32 during the demo, one student's was
//! just rebooted), timeline reports with round trips, the class start and end, a
//! recording callback per camera that matches the class (signed with the callback key),
//! one that matches no class (for "assign"), one with a bad signature (refused), a refused
//! timeline report, and a second class reported during a simulated IM outage (the sandbox
//! emulator's fault knobs, `PUT /v1/admin/sandbox/faults`), so its messages fail and can
//! be recovered once the IM is healthy again. A third class is recorded through TRTC cloud
//! recording (`trtc.rs`: signed 301, 307 and 311 callbacks for a camera and a screen share),
//! so a newcomer sees both recording paths.

use base64::Engine as _;
use clap::Args;
use rand::Rng as _;
use replaydesk_callback::expected_sign;
use replaydesk_protocol::secret::Secret;
use serde_json::{json, Value};
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod live;
mod trtc;
pub use trtc::TrtcDemo;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The running `replaydesk serve`.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The admin token `serve` printed (or was configured with).
    #[arg(long, env = "REPLAYDESK_ADMIN_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The recording-callback sign key `serve` uses; without it the demo's callbacks are
    /// refused (and listed as such).
    #[arg(long, env = "REPLAYDESK_CALLBACK_KEY", hide_env_values = true)]
    pub callback_key: Option<String>,
    /// The TRTC cloud-recording callback key `serve` uses (`trtc_callback_key`); without it
    /// the demo's TRTC callbacks are refused (and listed as such).
    #[arg(long, env = "REPLAYDESK_TRTC_CALLBACK_KEY", hide_env_values = true)]
    pub trtc_callback_key: Option<String>,
    /// Do nothing when the server already has classes (for `scripts/run.sh`: demo data
    /// only in an empty console).
    #[arg(long)]
    pub if_empty: bool,
    /// Also run against a server that uses a real IM service (the demo then creates real
    /// IM groups and sends real messages). Without it the demo only fills sandbox servers.
    #[arg(long)]
    pub real_im: bool,
    /// How long the live class's members heartbeat (drifting, rebooting, never reporting)
    /// before they all vanish, seconds; 0 makes no live class. The server ends it after
    /// `heartbeat.silence_end`.
    #[arg(long, default_value_t = 45)]
    pub heartbeat_secs: u64,
}

/// What the demo made, for its summary and for tests.
#[derive(Debug, Clone, PartialEq)]
pub enum DemoOutcome {
    /// `--if-empty` and the server already had classes: nothing was made.
    Skipped {
        classes: usize,
    },
    Made(DemoData),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoData {
    pub base: String,
    /// The class with clients, reports and recordings.
    pub class_id: String,
    /// The class reported during a (simulated) IM outage: its messages failed.
    pub broken_class_id: String,
    pub timelines: usize,
    /// HTTP statuses the recording callbacks got: matched (teacher, student), unmatched,
    /// forged.
    pub callbacks: [u16; 4],
    pub signed: bool,
    /// The class recorded through TRTC cloud recording.
    pub trtc: TrtcDemo,
    /// The class whose members heartbeat, then vanish (none when `heartbeat_secs` is 0).
    pub live_class_id: Option<String>,
}

impl std::fmt::Display for DemoOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = match self {
            DemoOutcome::Skipped { classes } => {
                return write!(
                    f,
                    "demo: the server already has {classes} class(es); no demo data added (run `replaydesk demo` without --if-empty to add it anyway)"
                )
            }
            DemoOutcome::Made(d) => d,
        };
        let [teacher, student, unmatched, forged] = d.callbacks;
        let cb = if d.signed {
            format!("recording callbacks: 2 matched ({teacher}, {student}), 1 unmatched ({unmatched}; assign it in Callbacks), 1 with a forged sign ({forged}, refused)")
        } else {
            format!("recording callbacks: sent without a callback key, so all refused ({teacher}, {student}, {unmatched}, {forged}); pass --callback-key (the key serve uses) to see matched ones")
        };
        let t = &d.trtc;
        let trtc = if t.signed {
            format!("recorded through TRTC cloud recording in room {}: recorder started (301), two first slices (307), two files committed to VOD (311: the teacher's camera, main; the student's screen share, aux), answered {:?}", t.room_id, t.statuses)
        } else {
            format!("TRTC callbacks sent without a TRTC callback key, so all refused ({:?}); pass --trtc-callback-key (the trtc_callback_key serve uses) to see them recorded", t.statuses)
        };
        write!(
            f,
            "demo data added to {}:\n  class {}: teacher_li + 2 students, {} timeline reports (the teacher's 32-bit clock wraps, one refused report), start and end\n  {cb}\n  class {}: reported during a simulated IM outage (the sandbox emulator refused every send with 10007, no permission; such refusals are not retried by themselves), so its messages failed; it accepts sends again: try Recover or a bulk resend\n  class {}: {trtc}",
            d.base, d.class_id, d.timelines, d.broken_class_id, t.class_id
        )?;
        if let Some(live) = &d.live_class_id {
            write!(f, "\n  class {live}: members heartbeat (one clock drifting, one rebooted silently, one never reported), then all vanished without a 1002: see Who is here on its Alignment page; the server ends it after heartbeat.silence_end")?;
        }
        Ok(())
    }
}

/// Runs the demo; exit status 1 with the reason on failure.
pub fn run(args: DemoArgs) -> ExitCode {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("demo: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(demo(&args)) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::from(1)
        }
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(bearer);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.map_err(|e| {
            format!(
                "{method} {path}: {e} (is `replaydesk serve` running at {}?)",
                self.base
            )
        })?;
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!("{method} {path}: {status}: {v}"));
        }
        Ok(v)
    }

    async fn admin_post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.call(reqwest::Method::POST, path, &self.token, Some(body))
            .await
    }

    async fn report(
        &self,
        class_id: &str,
        what: &str,
        credential: &str,
        body: Value,
    ) -> Result<Value, String> {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/classes/{class_id}/{what}"),
            credential,
            Some(body),
        )
        .await
    }

    /// The sandbox emulator's fault knobs (`PUT /v1/admin/sandbox/faults`).
    async fn set_faults(&self, faults: Value) -> Result<Value, String> {
        self.call(
            reqwest::Method::PUT,
            "/v1/admin/sandbox/faults",
            &self.token,
            Some(faults),
        )
        .await
    }

    /// Waits (up to 60 s) until every message of the class has `status`.
    async fn wait_for_class(&self, class_id: &str, status: &str) -> Result<(), String> {
        let path = format!("/v1/admin/classes/{class_id}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let class = self
                .call(reqwest::Method::GET, &path, &self.token, None)
                .await?;
            let counts = &class["counts"];
            if counts["total"].as_i64().is_some_and(|n| n > 0) && counts[status] == counts["total"]
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "class {class_id}: its messages are not all {status} after 60 s: {counts}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A callback as the streaming cloud sends it (no token: its `sign` speaks for it).
    async fn callback(&self, body: Value) -> Result<u16, String> {
        let res = self
            .http
            .post(format!("{}/v1/callbacks/recording", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("callback: {e}"))?;
        Ok(res.status().as_u16())
    }
}

/// A classroom client's clock: a 32-bit millisecond counter started at `base`.
struct Client {
    uid: String,
    credential: String,
    base: u64,
}

impl Client {
    fn now(&self, started: Instant) -> i64 {
        ((self.base + started.elapsed().as_millis() as u64) % (1u64 << 32)) as i64
    }
}

fn unix_s() -> i64 {
    replaydesk_clock::unix_ms_now().div_euclid(1000)
}

/// Fills the server at `args.url` (see the module comment); the error says what failed.
pub async fn demo(args: &DemoArgs) -> Result<DemoOutcome, String> {
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| e.to_string())?,
        base: args.url.trim_end_matches('/').to_owned(),
        token: args.token.clone(),
    };
    let info = api.call(reqwest::Method::GET, "/v1/info", "", None).await?;
    if info["sandbox"] != true && !args.real_im {
        return Err(format!(
            "{} uses a real IM service ({}); the demo would create real IM groups and messages there. Run it against a sandbox server, or pass --real-im",
            api.base,
            info["im_endpoint"].as_str().unwrap_or("?")
        ));
    }
    if args.if_empty {
        let classes = api
            .call(reqwest::Method::GET, "/v1/admin/classes", &api.token, None)
            .await?;
        let n = classes.as_array().map_or(0, Vec::len);
        if n > 0 {
            return Ok(DemoOutcome::Skipped { classes: n });
        }
    }
    let stamp = unix_s();
    let class_id = format!("demo-{stamp}");
    let group_id = format!("demo_group_{stamp}");
    let created = api
        .admin_post(
            "/v1/classes",
            json!({"class_id": class_id, "group_id": group_id, "teacher_uid": "teacher_li", "create_group": true}),
        )
        .await?;
    let started = Instant::now();
    let mut rng = rand::rng();
    let mut clients = vec![Client {
        uid: "teacher_li".into(),
        credential: created["teacher_credential"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        // Close to 2^32: this counter wraps during the demo.
        base: (1u64 << 32) - 1_500,
    }];
    for (uid, base) in [("student_wang", 1_234_567_890u64), ("student_zhao", 35_000)] {
        let c = api
            .admin_post(
                &format!("/v1/admin/classes/{class_id}/members/{uid}/credential"),
                json!({}),
            )
            .await?;
        clients.push(Client {
            uid: uid.into(),
            credential: c["credential"].as_str().unwrap_or_default().to_owned(),
            base,
        });
    }
    let teacher = &clients[0];
    api.report(
        &class_id,
        "start",
        &teacher.credential,
        json!({"uid": teacher.uid, "timestamp": teacher.now(started)}),
    )
    .await?;
    // Each client reports its clock a few times, with the round trip it measured (a real
    // one to /v1/time, plus a simulated network of 20 to 120 ms).
    let mut timelines = 0;
    for _round in 0..4 {
        for c in &clients {
            let t0 = Instant::now();
            api.call(reqwest::Method::GET, "/v1/time", "", None).await?;
            let rtt = t0.elapsed().as_secs_f64() * 1000.0 + rng.random_range(20.0..120.0);
            api.report(
                &class_id,
                "timeline",
                &c.credential,
                json!({"uid": c.uid, "timestamp": c.now(started), "rtt_ms": (rtt * 10.0).round() / 10.0}),
            )
            .await?;
            timelines += 1;
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    // A client on a bad network: a round trip over the 60 s limit is refused (and kept, with
    // its reason, in the class's timeline reports).
    let wang = &clients[1];
    if api
        .report(
            &class_id,
            "timeline",
            &wang.credential,
            json!({"uid": wang.uid, "timestamp": wang.now(started), "rtt_ms": 75_000.0}),
        )
        .await
        .is_ok()
    {
        return Err("the server accepted a timeline report with a 75 s round trip".into());
    }
    timelines += 1;

    // The recordings are ready: the streaming cloud calls back, signed with the key.
    let key = args.callback_key.clone().map(Secret::new);
    let now = unix_s();
    let t = now + 600;
    let sign = |t: i64| match &key {
        Some(k) => expected_sign(k, &t.to_string()),
        None => "0".repeat(32),
    };
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let duration = started.elapsed().as_secs().max(1) as i64;
    let recording = |group: &str, room: &str, uid: &str, file: &str, media_start: i64| {
        let stream = format!("{DEMO_SDKAPPID}_{room}_{uid}_main");
        json!({
            "event_type": 100,
            "appid": DEMO_SDKAPPID,
            "stream_id": stream,
            "channel_id": stream,
            "stream_param": format!("groupid={group}&userid={}", b64(uid)),
            "file_id": file,
            "task_id": format!("task-{file}"),
            "file_format": "mp4",
            "start_time": now - duration,
            "end_time": now,
            "duration": duration,
            "file_size": 1_048_576 * duration,
            "video_url": format!("https://media.example.com/replay/{file}.mp4"),
            // The client's clock when its recording began.
            "media_start_time": media_start,
            "t": t,
            "sign": sign(t),
        })
    };
    let student = &clients[2];
    let teacher_cb = api
        .callback(recording(
            &group_id,
            &class_id,
            &teacher.uid,
            &format!("{class_id}-teacher"),
            teacher.base as i64,
        ))
        .await?;
    let student_cb = api
        .callback(recording(
            &group_id,
            &class_id,
            &student.uid,
            &format!("{class_id}-student"),
            student.base as i64 + 250,
        ))
        .await?;
    let unmatched = api
        .callback(recording(
            "a_group_no_class_has",
            "a_room_no_class_has",
            "visitor",
            &format!("{class_id}-unknown"),
            3_200,
        ))
        .await?;
    let mut forged = recording(
        &group_id,
        &class_id,
        &wang.uid,
        &format!("{class_id}-forged"),
        4_000,
    );
    forged["sign"] = json!("0123456789abcdef0123456789abcdef");
    let refused = api.callback(forged).await?;
    api.report(
        &class_id,
        "end",
        &teacher.credential,
        json!({"uid": teacher.uid, "timestamp": teacher.now(started)}),
    )
    .await?;

    // Everything so far is delivered before the outage below starts.
    api.wait_for_class(&class_id, "sent").await?;

    // An IM outage: the sandbox emulator refuses every send with 10007 (no permission: a
    // refusal ReplayDesk does not retry by itself, whatever its cause), so the second
    // class's messages fail; then the IM is healthy again, and "Recover failed since ..."
    // or a bulk resend sends them.
    let broken_id = format!("demo-{stamp}-outage");
    api.set_faults(json!({"fail_rate": 1.0, "fail_codes": [10007]}))
        .await?;
    let outage = outage_class(
        &api,
        &broken_id,
        &format!("demo_group_{stamp}_outage"),
        started,
    )
    .await;
    let healed = api.set_faults(json!({})).await;
    outage?;
    healed?;

    // A class recorded through TRTC: its recorder's life and two files, one per stream kind.
    let trtc_key = args.trtc_callback_key.clone().map(Secret::new);
    let room_id = 100_000 + u64::from(rand::rng().random_range(0..900_000u32));
    let trtc = trtc::record_through_trtc(
        &api,
        &stamp.to_string(),
        room_id,
        trtc_key.as_ref(),
        DEMO_SDKAPPID,
        replaydesk_clock::unix_ms_now(),
    )
    .await?;

    let live_class_id = match args.heartbeat_secs {
        0 => None,
        secs => Some(live::live_class(&api, stamp, secs).await?),
    };

    Ok(DemoOutcome::Made(DemoData {
        live_class_id,
        base: api.base.clone(),
        class_id,
        broken_class_id: broken_id,
        timelines,
        callbacks: [teacher_cb, student_cb, unmatched, refused],
        signed: key.is_some(),
        trtc,
    }))
}

/// A class reported during the outage; returns once its messages have failed.
async fn outage_class(
    api: &Api,
    class_id: &str,
    group_id: &str,
    started: Instant,
) -> Result<(), String> {
    let created = api
        .admin_post(
            "/v1/classes",
            json!({"class_id": class_id, "group_id": group_id, "teacher_uid": "teacher_chen", "create_group": true}),
        )
        .await?;
    let chen = Client {
        uid: "teacher_chen".into(),
        credential: created["teacher_credential"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        base: 777_000,
    };
    api.report(
        class_id,
        "start",
        &chen.credential,
        json!({"uid": chen.uid, "timestamp": chen.now(started)}),
    )
    .await?;
    for rtt in [48.0, 52.5] {
        api.report(
            class_id,
            "timeline",
            &chen.credential,
            json!({"uid": chen.uid, "timestamp": chen.now(started), "rtt_ms": rtt}),
        )
        .await?;
    }
    api.wait_for_class(class_id, "failed").await
}

/// The app id the demo's streaming cloud uses in stream ids.
const DEMO_SDKAPPID: u64 = 1_400_000_000;
