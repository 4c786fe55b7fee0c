//! Secrets (IM secret key, callback key, tokens): a type whose `Debug` and `Display`
//! never show the value, so no log line, error or export can carry it by accident.

use serde::{Deserialize, Deserializer};
use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that needs it (signing, comparing).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

/// What is shown for a text with an `@` that the URL parser cannot read: where its
/// credentials end cannot be told, so none of it is shown.
const UNREADABLE_URL: &str = "(a URL that cannot be read)";

/// Drops `user:password@` from a URL, so an endpoint configured with credentials in it is
/// never shown (`/v1/info`, and the `Debug` output of every type holding an endpoint). A
/// URL without credentials, and a text that is no URL (a file path), is shown as it is.
pub fn without_userinfo(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return if text.contains('@') {
            UNREADABLE_URL.to_owned()
        } else {
            text.to_owned()
        };
    };
    if url.cannot_be_a_base() {
        // `user:pw@host` without `//` reads as scheme `user` and path `pw@host`.
        return if text.contains('@') {
            UNREADABLE_URL.to_owned()
        } else {
            text.to_owned()
        };
    }
    if url.username().is_empty() && url.password().is_none() {
        return text.to_owned();
    }
    // Both only fail on a URL without a host, which cannot hold credentials.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let shown = url.to_string();
    // `Url` writes an empty path of an `http(s)` URL as "/": show it as configured.
    match shown.strip_suffix('/') {
        Some(s) if url.path() == "/" && !text.ends_with('/') => s.to_owned(),
        _ => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn credentials_are_dropped_from_urls_and_nothing_else_changes() {
        for (url, shown) in [
            (
                "https://ops:hunter2@console.tim.qq.com",
                "https://console.tim.qq.com",
            ),
            (
                "https://ops:hunter2@console.tim.qq.com/v4/?a=1#f",
                "https://console.tim.qq.com/v4/?a=1#f",
            ),
            (
                "https://ops@console.tim.qq.com/",
                "https://console.tim.qq.com/",
            ),
            (
                "postgres://desk:pw@db.example:5433/replay",
                "postgres://db.example:5433/replay",
            ),
            // An `@` in the path or query is not a credential.
            ("https://x.example/a@b?c=d@e", "https://x.example/a@b?c=d@e"),
            ("https://console.tim.qq.com", "https://console.tim.qq.com"),
            ("/var/lib/replaydesk.db", "/var/lib/replaydesk.db"),
            ("replaydesk.db", "replaydesk.db"),
            ("ops:hunter2@console.tim.qq.com", UNREADABLE_URL),
            ("https://ops:hunter2@exa mple", UNREADABLE_URL),
        ] {
            assert_eq!(without_userinfo(url), shown, "{url}");
        }
    }
}
