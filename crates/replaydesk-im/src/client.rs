//! The IM REST client: signs every call with a cached UserSig (renewed before it expires,
//! and at once on 70001), applies timeouts, and reports every failure with what is known of
//! it — HTTP status, IM code, and whether the request may have been processed anyway.

use super::errors::{classify_code, ErrorClass};
use super::usersig;
use super::wire::{
    self, ApiStatus, CreateGroupRequest, CreateGroupResponse, DestroyGroupRequest,
    GroupMsgGetSimpleRequest, GroupMsgGetSimpleResponse, HistoryMsg, SendGroupMsgRequest,
    SendGroupMsgResponse,
};
use parking_lot::Mutex;
use replaydesk_protocol::secret::Secret;
use replaydesk_protocol::ReplayMessage;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How to reach and sign for the IM service. `Debug` shows the endpoint without any
/// `user:pass@` it holds (and the key as `***`).
#[derive(Clone)]
pub struct ImConfig {
    /// Base URL, e.g. `https://console.tim.qq.com` or a regional host.
    pub endpoint: String,
    pub sdkappid: u64,
    /// The app administrator account the calls are made as.
    pub admin: String,
    pub secret_key: Secret,
    /// Validity of the UserSigs the client makes.
    pub usersig_ttl: Duration,
    /// A UserSig is renewed this long before it expires.
    pub renew_before: Duration,
    /// Whole-request timeout.
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for ImConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImConfig")
            .field(
                "endpoint",
                &replaydesk_protocol::secret::without_userinfo(&self.endpoint),
            )
            .field("sdkappid", &self.sdkappid)
            .field("admin", &self.admin)
            .field("secret_key", &self.secret_key)
            .field("usersig_ttl", &self.usersig_ttl)
            .field("renew_before", &self.renew_before)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl ImConfig {
    pub fn new(
        endpoint: impl Into<String>,
        sdkappid: u64,
        admin: impl Into<String>,
        secret_key: Secret,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            sdkappid,
            admin: admin.into(),
            secret_key,
            usersig_ttl: Duration::from_secs(86_400),
            renew_before: Duration::from_secs(600),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A failed IM call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImError {
    /// The service answered with a non-zero `ErrorCode`.
    #[error("IM error {code}: {info}")]
    Api {
        code: i64,
        info: String,
        http_status: u16,
    },
    /// No usable answer: connection, timeout, HTTP error status or unreadable body.
    #[error("{message}")]
    Transport {
        message: String,
        http_status: Option<u16>,
        /// True when the request may have been processed (it left, and the answer was lost
        /// or was a server error); false when it surely was not (connection refused).
        ambiguous: bool,
    },
}

impl ImError {
    pub fn class(&self) -> ErrorClass {
        match self {
            ImError::Api { code, .. } => classify_code(*code),
            ImError::Transport { .. } => ErrorClass::Retry,
        }
    }

    pub fn is_ambiguous(&self) -> bool {
        matches!(
            self,
            ImError::Transport {
                ambiguous: true,
                ..
            }
        )
    }

    pub fn http_status(&self) -> Option<u16> {
        match self {
            ImError::Api { http_status, .. } => Some(*http_status),
            ImError::Transport { http_status, .. } => *http_status,
        }
    }
}

/// Responses that carry the common status fields.
pub trait ApiResponse: DeserializeOwned {
    fn status(&self) -> &ApiStatus;
}

impl ApiResponse for SendGroupMsgResponse {
    fn status(&self) -> &ApiStatus {
        &self.status
    }
}

impl ApiResponse for GroupMsgGetSimpleResponse {
    fn status(&self) -> &ApiStatus {
        &self.status
    }
}

impl ApiResponse for CreateGroupResponse {
    fn status(&self) -> &ApiStatus {
        &self.status
    }
}

impl ApiResponse for ApiStatus {
    fn status(&self) -> &ApiStatus {
        self
    }
}

/// A successful call: the response and the HTTP status it came with.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub body: T,
    pub http_status: u16,
}

struct CachedSig {
    sig: String,
    /// Unix seconds from which the cached sig is renewed.
    renew_at: i64,
}

pub struct ImClient {
    http: reqwest::Client,
    config: Mutex<ImConfig>,
    sig: Mutex<Option<CachedSig>>,
    sigs_made: AtomicU64,
}

impl std::fmt::Debug for ImClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImClient")
            .field("config", &self.config())
            .finish()
    }
}

fn unix_now() -> i64 {
    replaydesk_clock::unix_ms_now().div_euclid(1000)
}

impl ImClient {
    pub fn new(config: ImConfig) -> Result<Self, ImError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| ImError::Transport {
                message: format!("cannot build HTTP client: {e}"),
                http_status: None,
                ambiguous: false,
            })?;
        Ok(Self {
            http,
            config: Mutex::new(config),
            sig: Mutex::new(None),
            sigs_made: AtomicU64::new(0),
        })
    }

    /// A copy of the configuration (its secret stays wrapped).
    pub fn config(&self) -> ImConfig {
        self.config.lock().clone()
    }

    /// Replaces the secret key (an admin fixed it); the next call signs with the new one.
    pub fn set_secret_key(&self, key: Secret) {
        self.config.lock().secret_key = key;
        self.invalidate_usersig();
    }

    /// How many UserSigs this client has made (renewals show here).
    pub fn usersigs_made(&self) -> u64 {
        self.sigs_made.load(Ordering::Relaxed)
    }

    /// Drops the cached UserSig so the next call makes a new one.
    pub fn invalidate_usersig(&self) {
        *self.sig.lock() = None;
    }

    fn usersig(&self) -> String {
        let now = unix_now();
        let mut cached = self.sig.lock();
        if let Some(c) = cached.as_ref().filter(|c| now < c.renew_at) {
            return c.sig.clone();
        }
        let cfg = self.config();
        let ttl = cfg.usersig_ttl.as_secs().max(1);
        let sig = usersig::generate(cfg.sdkappid, &cfg.admin, cfg.secret_key.expose(), now, ttl);
        self.sigs_made.fetch_add(1, Ordering::Relaxed);
        let renew_in = ttl.saturating_sub(cfg.renew_before.as_secs()).max(1);
        *cached = Some(CachedSig {
            sig: sig.clone(),
            renew_at: now + i64::try_from(renew_in).unwrap_or(i64::MAX / 2),
        });
        sig
    }

    /// Makes one call; on 70001 (UserSig expired) renews the sig and tries once more at once.
    pub async fn call<Req: Serialize, Resp: ApiResponse>(
        &self,
        command: &str,
        body: &Req,
    ) -> Result<Answer<Resp>, ImError> {
        let first = self.call_once::<Req, Resp>(command, body).await;
        match first {
            Err(ImError::Api { code, .. }) if classify_code(code) == ErrorClass::RenewUserSig => {
                tracing::info!(command, "IM UserSig expired (70001); renewing and retrying");
                self.invalidate_usersig();
                self.call_once(command, body).await
            }
            other => other,
        }
    }

    async fn call_once<Req: Serialize, Resp: ApiResponse>(
        &self,
        command: &str,
        body: &Req,
    ) -> Result<Answer<Resp>, ImError> {
        let cfg = self.config();
        let url = format!("{}/v4/{command}", cfg.endpoint.trim_end_matches('/'));
        let sig = self.usersig();
        let random = rand::random::<u32>().to_string();
        let sdkappid = cfg.sdkappid.to_string();
        let request = self
            .http
            .post(&url)
            .query(&[
                ("sdkappid", sdkappid.as_str()),
                ("identifier", cfg.admin.as_str()),
                ("usersig", sig.as_str()),
                ("random", random.as_str()),
                ("contenttype", "json"),
            ])
            .json(body);
        let response = request.send().await.map_err(|e| {
            // A refused connection never carried the request; anything later may have.
            let ambiguous = !e.is_connect() && !e.is_builder();
            ImError::Transport {
                // `without_url`: the URL carries the UserSig, which must not reach logs.
                message: format!("request failed: {}", e.without_url()),
                http_status: None,
                ambiguous,
            }
        })?;
        let http_status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(ImError::Transport {
                message: format!("HTTP {http_status}"),
                http_status: Some(http_status),
                // A gateway error (5xx) may follow processing; a 4xx was refused up front.
                ambiguous: response.status().is_server_error(),
            });
        }
        let bytes = response.bytes().await.map_err(|e| ImError::Transport {
            message: format!("response lost: {}", e.without_url()),
            http_status: Some(http_status),
            ambiguous: true,
        })?;
        let body: Resp = serde_json::from_slice(&bytes).map_err(|e| ImError::Transport {
            message: format!("unreadable response: {e}"),
            http_status: Some(http_status),
            ambiguous: true,
        })?;
        let status = body.status();
        if status.error_code != 0 {
            return Err(ImError::Api {
                code: status.error_code,
                info: status.error_info.clone(),
                http_status,
            });
        }
        Ok(Answer { body, http_status })
    }

    pub async fn send_group_msg(
        &self,
        req: &SendGroupMsgRequest,
    ) -> Result<Answer<SendGroupMsgResponse>, ImError> {
        self.call(wire::SEND_GROUP_MSG, req).await
    }

    /// One page of history, newest first, at most 20 messages, ending at `newest_seq`.
    pub async fn group_msg_get_simple(
        &self,
        group_id: &str,
        newest_seq: Option<u64>,
    ) -> Result<Answer<GroupMsgGetSimpleResponse>, ImError> {
        let req = GroupMsgGetSimpleRequest {
            group_id: group_id.to_owned(),
            req_msg_number: wire::HISTORY_PAGE_SIZE,
            req_msg_seq: newest_seq,
        };
        self.call(wire::GROUP_MSG_GET_SIMPLE, &req).await
    }

    pub async fn create_group(
        &self,
        group_id: &str,
        name: &str,
        group_type: &str,
    ) -> Result<Answer<CreateGroupResponse>, ImError> {
        let owner = self.config().admin;
        let req = CreateGroupRequest {
            owner_account: Some(owner),
            group_type: group_type.to_owned(),
            group_id: Some(group_id.to_owned()),
            name: name.to_owned(),
        };
        self.call(wire::CREATE_GROUP, &req).await
    }

    pub async fn destroy_group(&self, group_id: &str) -> Result<Answer<ApiStatus>, ImError> {
        let req = DestroyGroupRequest {
            group_id: group_id.to_owned(),
        };
        self.call(wire::DESTROY_GROUP, &req).await
    }

    /// Looks for a message we sent with `random` and protocol `seq` in the group's history,
    /// paging backwards (20 a page) until it is found, history ends, or messages are older
    /// than `not_before` (unix seconds, with a minute of slack for clock skew).
    pub async fn find_sent_message(
        &self,
        group_id: &str,
        random: u32,
        seq: u64,
        not_before: i64,
    ) -> Result<Option<HistoryMsg>, ImError> {
        let mut newest: Option<u64> = None;
        loop {
            let page = self.group_msg_get_simple(group_id, newest).await?.body;
            for m in &page.rsp_msg_list {
                if m.msg_random == u64::from(random) && carries_seq(m, seq) {
                    return Ok(Some(m.clone()));
                }
            }
            let oldest = page.rsp_msg_list.iter().map(|m| m.msg_seq).min();
            let oldest_time = page.rsp_msg_list.iter().map(|m| m.msg_time_stamp).min();
            match (oldest, oldest_time) {
                _ if page.is_finished == 1 => return Ok(None),
                (Some(s), Some(t)) if s > 1 && t >= not_before - 60 => newest = Some(s - 1),
                _ => return Ok(None),
            }
        }
    }
}

/// Whether a history message is one of ours with this protocol `seq`.
fn carries_seq(m: &HistoryMsg, seq: u64) -> bool {
    m.msg_body
        .iter()
        .filter_map(|e| e.custom_elem())
        .filter_map(|c| ReplayMessage::parse(&c.data).ok())
        .any(|p| p.seq.get() == seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hole 11: `Debug` of the IM configuration and client shows the endpoint without the
    /// `user:pass@` it may hold, and never the key.
    #[test]
    fn debug_output_hides_the_endpoint_userinfo_and_key() {
        let config = ImConfig::new(
            "https://ops:hunter2-pw@console.tim.qq.com",
            1400000000,
            "administrator",
            Secret::new("hunter2-key"),
        );
        let client = ImClient::new(config.clone()).unwrap();
        for shown in [format!("{config:?}"), format!("{client:?}")] {
            assert!(
                !shown.contains("hunter2") && !shown.contains("ops:"),
                "{shown}"
            );
            assert!(shown.contains("https://console.tim.qq.com"), "{shown}");
        }
        assert_eq!(
            client.config().endpoint,
            "https://ops:hunter2-pw@console.tim.qq.com",
            "kept for use"
        );
    }
}
