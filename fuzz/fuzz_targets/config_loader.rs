//! The configuration loader: a TOML file's text plus environment variables, as
//! `replaydesk serve` reads them (`Config::from_sources`).
//!
//! Input: the TOML text, then a NUL byte, then environment lines; a line's first byte picks
//! the variable (one per key of `config::keys()`), the rest is its value.
//!
//! Properties beyond "does not panic": a loaded configuration's `Debug` (what a log line
//! would show) never contains the admin token, callback key, IM secret key or the
//! endpoint's `user:password@`; a refusal reads the same when the secrets given in the
//! environment are replaced by stand-ins (so it quotes none of them), and a TOML refusal
//! says where and what kind of mistake without quoting the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replaydesk::config::{env_var, keys, Config, ConfigError, Flags};
use std::path::Path;

const SECRET_KEYS: [&str; 3] = ["admin_token", "callback_key", "im.secret_key"];

/// A secret short enough to occur by chance in other text proves nothing.
const MIN_CHECKED: usize = 6;

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    let (toml, env) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(toml) = std::str::from_utf8(toml) else {
        return;
    };
    let env: Vec<(String, String)> = env
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let key = &keys[usize::from(l[0]) % keys.len()];
            (
                env_var(key),
                String::from_utf8_lossy(&l[1..]).into_owned(),
            )
        })
        .collect();
    let file = (!toml.is_empty()).then_some((Path::new("replaydesk.toml"), toml));
    let result = Config::from_sources(file, env.clone(), &Flags::default());

    // The same environment with every secret's text replaced by a stand-in of the same
    // shape (length, whitespace, control characters): every check on a secret sees the
    // same thing, so a refusal that does not quote secrets reads the same.
    let is_secret_var = |var: &str| {
        keys.iter()
            .any(|k| env_var(k) == var && SECRET_KEYS.contains(&k.as_str()))
    };
    let stand_in = |v: &str| -> String {
        v.chars()
            .map(|c| match c {
                c if c.is_control() => '\u{1}',
                c if c.is_whitespace() => ' ',
                _ => 'Z',
            })
            .collect()
    };
    let env_stood_in: Vec<(String, String)> = env
        .iter()
        .map(|(var, v)| match is_secret_var(var) {
            true => (var.clone(), stand_in(v)),
            false => (var.clone(), v.clone()),
        })
        .collect();

    match result {
        Ok(config) => {
            let shown = format!("{config:?}");
            let mut without = config.clone();
            without.admin_token = None;
            without.callback_key = None;
            without.im.secret_key = None;
            let shown_without = format!("{without:?}");
            // An endpoint's `user:password@` is a secret too: the endpoint is shown
            // without it (so never as configured).
            if let Some(e) = config.im.endpoint.as_deref() {
                let has_userinfo = e.find("://").is_some_and(|i| {
                    let rest = &e[i + 3..];
                    rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())].contains('@')
                });
                if has_userinfo {
                    assert!(!shown.contains(e), "an endpoint's credentials are in Debug");
                }
            }
            for secret in [
                &config.admin_token,
                &config.callback_key,
                &config.im.secret_key,
            ]
            .into_iter()
            .flatten()
            {
                let s = secret.expose();
                if s.chars().count() >= MIN_CHECKED && !shown_without.contains(s) {
                    assert!(
                        !shown.contains(s),
                        "a secret is in the configuration's Debug"
                    );
                }
            }
        }
        Err(e) => {
            let shown = e.to_string();
            let stood_in = Config::from_sources(file, env_stood_in, &Flags::default())
                .expect_err("refused with the real secrets, taken with stand-ins")
                .to_string();
            assert_eq!(shown, stood_in, "the refusal depends on a secret's text");
            if let ConfigError::File { message, .. } = &e {
                assert_file_message_quotes_nothing(message);
            }
        }
    }
});

/// `line N, column M[ (key K)]: <kind>`, K a key, the kind one of the loader's words.
fn assert_file_message_quotes_nothing(message: &str) {
    // Without a position the message is the kind alone.
    let kind = match message.strip_prefix("line ") {
        None => message,
        Some(rest) => {
            let (place, kind) = rest
                .split_once(": ")
                .unwrap_or_else(|| panic!("no kind in {message:?}"));
            let place = match place.split_once(" (key ") {
                Some((at, key)) => {
                    let key = key.strip_suffix(')').expect("key closed");
                    assert!(
                        key.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')),
                        "not a key: {key:?}"
                    );
                    at
                }
                None => place,
            };
            let (l, c) = place
                .split_once(", column ")
                .unwrap_or_else(|| panic!("not a place: {place:?}"));
            assert!(
                l.parse::<usize>().is_ok() && c.parse::<usize>().is_ok(),
                "{place:?}"
            );
            kind
        }
    };
    assert!(
        kind == "unknown key"
            || kind == "invalid TOML syntax"
            || kind == "wrong type"
            || kind.starts_with("wrong type, expected ")
            || kind.starts_with("missing field `"),
        "unexpected kind: {kind:?}"
    );
    assert!(!kind.contains('"'), "quotes input: {kind:?}");
}
