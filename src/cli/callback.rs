//! `replaydesk callback send`: signs a recording callback from a file and posts it, as the
//! cloud would, for an operator testing a set-up (issue 22).
//!
//! - `--kind css`: the streaming cloud's callback. Its `t` is replaced by a fresh one (ten
//!   minutes ahead, as the cloud sends it; kept a string when it was one) and `sign` =
//!   md5(key + t) is written into the body.
//! - `--kind trtc`: TRTC cloud recording's. Its `CallbackTs` is set to now (a stale one is
//!   refused), unless `--as-is` sends the file's bytes unchanged; `Sign` = base64
//!   HMAC-SHA256(key, the bytes sent) and `SdkAppId` go in the headers.
//!
//! The key comes from `--key`, else `REPLAYDESK_CALLBACK_KEY` (css) or
//! `REPLAYDESK_TRTC_CALLBACK_KEY` (trtc); it is never printed.

use clap::{Args, Subcommand, ValueEnum};
use replaydesk::callback::expected_sign;
use replaydesk::callback::trtc::sign_body;
use replaydesk::secret::Secret;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum CallbackCommand {
    /// Sign a callback body from a file and POST it to a ReplayDesk server.
    Send(SendArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// The streaming cloud's recording callback (`/v1/callbacks/recording`).
    Css,
    /// TRTC cloud recording's callback (`/v1/callbacks/trtc`).
    Trtc,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// The callback's JSON body.
    #[arg(long)]
    pub file: PathBuf,
    /// The server (`http://host:8080`, the callback path added by kind) or the full
    /// callback URL.
    #[arg(long)]
    pub url: String,
    /// The callback key; default: `REPLAYDESK_CALLBACK_KEY` (css) or
    /// `REPLAYDESK_TRTC_CALLBACK_KEY` (trtc). Prefer the variables: flags show in `ps`.
    #[arg(long)]
    pub key: Option<String>,
    /// TRTC only: the `SdkAppId` header (the server's `im.sdkappid`; the sandbox's is
    /// 1400000000).
    #[arg(long, default_value_t = 1_400_000_000)]
    pub sdkappid: u64,
    /// Send the file exactly as it is (TRTC: its own `CallbackTs`; css: its own `t`),
    /// signed.
    #[arg(long)]
    pub as_is: bool,
}

pub fn run(cmd: CallbackCommand) -> ExitCode {
    let CallbackCommand::Send(args) = cmd;
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("callback send: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(send(&args)) {
        Ok((status, answer)) => {
            println!("{status} {answer}");
            if status == 200 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("callback send: {e}");
            ExitCode::from(1)
        }
    }
}

/// The key for `kind`: the flag, else its variable.
fn key_for(kind: Kind, flag: Option<&str>) -> Result<Secret, String> {
    let var = match kind {
        Kind::Css => "REPLAYDESK_CALLBACK_KEY",
        Kind::Trtc => "REPLAYDESK_TRTC_CALLBACK_KEY",
    };
    flag.map(str::to_owned)
        .or_else(|| std::env::var(var).ok())
        .filter(|k| !k.is_empty())
        .map(Secret::new)
        .ok_or_else(|| format!("no key: pass --key or set {var}"))
}

/// Where to post: the URL as given when it names a callback path, else the kind's path
/// under it.
fn target(url: &str, kind: Kind) -> String {
    let url = url.trim_end_matches('/');
    if url.contains("/v1/callbacks/") {
        return url.to_owned();
    }
    match kind {
        Kind::Css => format!("{url}/v1/callbacks/recording"),
        Kind::Trtc => format!("{url}/v1/callbacks/trtc"),
    }
}

/// A request to send: its body and its headers.
pub type Signed = (Vec<u8>, Vec<(&'static str, String)>);

/// The body to send and its headers, signed with `key` at `now_ms`.
pub fn signed_request(
    kind: Kind,
    file: &[u8],
    key: &Secret,
    sdkappid: u64,
    as_is: bool,
    now_ms: i64,
) -> Result<Signed, String> {
    let json = || -> Result<Value, String> {
        serde_json::from_slice(file).map_err(|e| format!("the file is not JSON: {e}"))
    };
    match kind {
        Kind::Css => {
            let mut v = json()?;
            let o = v.as_object_mut().ok_or("the file is not a JSON object")?;
            let t_text = if as_is {
                match o.get("t") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => return Err("--as-is: the file has no t to sign".into()),
                }
            } else {
                let t = now_ms.div_euclid(1000) + 600;
                let as_text = matches!(o.get("t"), Some(Value::String(_)));
                o.insert(
                    "t".into(),
                    if as_text {
                        t.to_string().into()
                    } else {
                        t.into()
                    },
                );
                t.to_string()
            };
            o.insert("sign".into(), expected_sign(key, &t_text).into());
            let body = serde_json::to_vec(&v).map_err(|e| e.to_string())?;
            Ok((body, vec![("content-type", "application/json".into())]))
        }
        Kind::Trtc => {
            let body = if as_is {
                file.to_vec()
            } else {
                let mut v = json()?;
                v.as_object_mut()
                    .ok_or("the file is not a JSON object")?
                    .insert("CallbackTs".into(), now_ms.into());
                // Tabs, as TRTC sends its bodies: the sign covers these exact bytes.
                let mut out = Vec::new();
                let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
                let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
                serde::Serialize::serialize(&v, &mut ser).map_err(|e| e.to_string())?;
                out
            };
            let sign = sign_body(key, &body);
            Ok((
                body,
                vec![
                    ("content-type", "application/json".into()),
                    ("Sign", sign),
                    ("SdkAppId", sdkappid.to_string()),
                ],
            ))
        }
    }
}

async fn send(args: &SendArgs) -> Result<(u16, String), String> {
    let key = key_for(args.kind, args.key.as_deref())?;
    let file = std::fs::read(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let now_ms = replaydesk::clock::unix_ms_now();
    let (body, headers) =
        signed_request(args.kind, &file, &key, args.sdkappid, args.as_is, now_ms)?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| e.to_string())?;
    let mut req = http.post(target(&args.url, args.kind)).body(body);
    for (name, value) in headers {
        req = req.header(name, value);
    }
    let res = req.send().await.map_err(|e| format!("POST failed: {e}"))?;
    let status = res.status().as_u16();
    Ok((status, res.text().await.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_keys() {
        assert_eq!(
            target("http://h:1/", Kind::Trtc),
            "http://h:1/v1/callbacks/trtc"
        );
        assert_eq!(
            target("http://h:1", Kind::Css),
            "http://h:1/v1/callbacks/recording"
        );
        assert_eq!(
            target("https://h/v1/callbacks/trtc", Kind::Css),
            "https://h/v1/callbacks/trtc"
        );
        assert_eq!(key_for(Kind::Css, Some("k")).unwrap().expose(), "k");
    }

    #[test]
    fn a_trtc_body_is_signed_on_the_bytes_sent() {
        let key = Secret::new("k1");
        let (body, headers) = signed_request(
            Kind::Trtc,
            br#"{"EventType":301,"CallbackTs":1,"EventInfo":{}}"#,
            &key,
            7,
            false,
            42,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["CallbackTs"], 42);
        let sign = headers
            .iter()
            .find(|(n, _)| *n == "Sign")
            .unwrap()
            .1
            .clone();
        replaydesk::callback::trtc::verify_sign(&body, Some(&sign), &key).unwrap();
        assert!(headers.contains(&("SdkAppId", "7".into())));
        let raw = b"{ \"EventType\": 301 }";
        let (same, _) = signed_request(Kind::Trtc, raw, &key, 7, true, 42).unwrap();
        assert_eq!(same, raw);
    }

    #[test]
    fn a_css_body_gets_a_fresh_t_and_its_sign() {
        let key = Secret::new("k2");
        let (body, _) = signed_request(
            Kind::Css,
            br#"{"event_type":100,"t":"1","sign":"x"}"#,
            &key,
            0,
            false,
            10_000,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["t"], "610");
        assert_eq!(v["sign"], expected_sign(&key, "610"));
        assert!(signed_request(Kind::Css, b"[]", &key, 0, false, 0).is_err());
    }
}
