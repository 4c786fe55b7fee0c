//! Facts about this running instance that every door (CLI, HTTP, desktop) shows alike.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The package version of the backend library, which is the product version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the console shows in its header: which build runs, and whether messages go to the
/// real IM service or to the built-in emulator ("sandbox").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct AppInfo {
    pub version: String,
    /// True when no IM endpoint is configured and messages go to the in-process emulator.
    pub sandbox: bool,
    /// The IM endpoint messages go to; `None` in sandbox mode. Never carries credentials.
    pub im_endpoint: Option<String>,
}

impl AppInfo {
    /// Describes an instance that sends to `im_endpoint`, or to the emulator when `None`
    /// or blank.
    pub fn new(im_endpoint: Option<&str>) -> Self {
        let im_endpoint = im_endpoint
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(replaydesk_protocol::secret::without_userinfo);
        Self {
            version: VERSION.to_owned(),
            sandbox: im_endpoint.is_none(),
            im_endpoint,
        }
    }

    /// Reads the IM endpoint from `REPLAYDESK_IM_ENDPOINT`, as documented in docs/configuration.md.
    pub fn from_env() -> Self {
        Self::new(std::env::var("REPLAYDESK_IM_ENDPOINT").ok().as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_endpoint_is_sandbox() {
        assert!(AppInfo::new(None).sandbox);
        assert!(AppInfo::new(Some("  ")).sandbox);
        let real = AppInfo::new(Some("https://console.tim.qq.com"));
        assert!(!real.sandbox);
        assert_eq!(
            real.im_endpoint.as_deref(),
            Some("https://console.tim.qq.com")
        );
        assert_eq!(real.version, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn credentials_in_the_endpoint_are_not_shown() {
        let info = AppInfo::new(Some("https://user:pw@console.tim.qq.com/v4?x=a@b"));
        assert_eq!(
            info.im_endpoint.as_deref(),
            Some("https://console.tim.qq.com/v4?x=a@b")
        );
        assert_eq!(
            AppInfo::new(Some("http://127.0.0.1:8090"))
                .im_endpoint
                .as_deref(),
            Some("http://127.0.0.1:8090")
        );
    }
}
