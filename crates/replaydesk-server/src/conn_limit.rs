//! How many connections one source may hold at once (`limits.connections_per_source`):
//! the server serves at most `max_connections` at once, so without a cap per source one
//! host holding idle sockets kept everyone else waiting in the listen backlog. A source is
//! an IPv4 address or an IPv6 /64, as for the callback rate limit.
//!
//! A connection over the cap is answered `429 too_many_connections` (JSON, `Retry-After`)
//! and closed without being served. A trusted proxy (`trusted_proxies`) carries many
//! clients on its connections, so those are not capped by its address: each request
//! through it counts, while in flight, against the client address it forwarded in
//! `X-Forwarded-For`.

use super::error::ApiError;
use axum::extract::{ConnectInfo, Request};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A source already holds its cap of connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverCap;

/// The per-source connection counts of one server (cheap to clone: shared state).
#[derive(Clone)]
pub struct PerSource {
    cap: usize,
    trusted: Arc<[IpNet]>,
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
    refused: Arc<AtomicU64>,
}

impl std::fmt::Debug for PerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerSource")
            .field("cap", &self.cap)
            .field("refused", &self.refused_total())
            .finish()
    }
}

/// One connection (or proxied request) counted against its source until dropped.
#[derive(Debug)]
pub struct Held {
    key: IpAddr,
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut held = self.held.lock();
        if let Some(n) = held.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

impl PerSource {
    /// `cap` connections per source (0 = no cap); `trusted` proxies are counted by the
    /// address they forward, per request.
    pub fn new(cap: usize, trusted: &[IpNet]) -> Self {
        Self {
            cap,
            trusted: trusted.into(),
            held: Arc::default(),
            refused: Arc::default(),
        }
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        is_trusted(&self.trusted, ip)
    }

    /// Counts one more connection from `ip`: `Err(OverCap)` when its source already holds
    /// `cap`; `Ok(None)` when nothing is counted (no cap).
    pub fn admit(&self, ip: IpAddr) -> Result<Option<Held>, OverCap> {
        if self.cap == 0 {
            return Ok(None);
        }
        let key = super::source_limit::source_of(ip);
        let mut held = self.held.lock();
        let n = held.entry(key).or_insert(0);
        if *n >= self.cap {
            drop(held);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(OverCap);
        }
        *n += 1;
        Ok(Some(Held {
            key,
            held: self.held.clone(),
        }))
    }

    /// Connections (and proxied requests) refused since start.
    pub fn refused_total(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Sources holding at least one connection now.
    pub fn sources(&self) -> usize {
        self.held.lock().len()
    }

    pub fn cap(&self) -> usize {
        self.cap
    }
}

/// Whether `ip` is one of the `trusted_proxies`.
pub fn is_trusted(trusted: &[IpNet], ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    trusted.iter().any(|n| n.contains(&ip))
}

/// The address a request comes from: the peer's, or, when the peer is a trusted proxy,
/// the client it forwarded — the right-most `X-Forwarded-For` entry that is not itself a
/// trusted proxy (entries further left were written by the client and prove nothing).
/// A trusted proxy that forwards nothing usable is itself the source.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    if !is_trusted(trusted, peer) {
        return peer;
    }
    let mut forwarded: Vec<&str> = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let Ok(v) = v.to_str() else { return peer };
        forwarded.extend(v.split(','));
    }
    for entry in forwarded.iter().rev() {
        match parse_forwarded(entry) {
            Some(ip) if is_trusted(trusted, ip) => continue,
            Some(ip) => return ip,
            None => return peer,
        }
    }
    peer
}

/// Whether a request reached the client's side over HTTPS: the peer's own connection is
/// plain HTTP (`serve` speaks no TLS), unless the peer is a trusted proxy that says, in
/// the right-most `X-Forwarded-Proto` value (the one it wrote), that its client used
/// `https`. Anyone else's header is ignored.
pub fn client_https(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> bool {
    if !is_trusted(trusted, peer) {
        return false;
    }
    let mut last = None;
    for v in headers.get_all("x-forwarded-proto") {
        let Ok(v) = v.to_str() else { return false };
        last = v.rsplit(',').next().map(str::trim);
    }
    last.is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// Who a request comes from, as far as this server can tell: the client's address and
/// whether it used HTTPS, through a trusted proxy's `X-Forwarded-For` and
/// `X-Forwarded-Proto` (see [`client_ip`], [`client_https`]). A request extension, set by
/// [`client_origin`] for every request that came through the accept loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOrigin {
    pub ip: IpAddr,
    pub https: bool,
}

/// Middleware: sets [`ClientOrigin`] from the peer's address, its headers and
/// `trusted_proxies`.
pub async fn client_origin(
    axum::extract::State(trusted): axum::extract::State<std::sync::Arc<Vec<IpNet>>>,
    mut req: Request,
    next: axum::middleware::Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer {
        let origin = ClientOrigin {
            ip: client_ip(peer, req.headers(), &trusted),
            https: client_https(peer, req.headers(), &trusted),
        };
        req.extensions_mut().insert(origin);
    }
    next.run(req).await
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`,
/// `[2001:db8::1]:5`).
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    if let Ok(ip) = e.parse::<IpAddr>() {
        return Some(ip);
    }
    e.parse::<SocketAddr>().ok().map(|s| s.ip())
}

fn refusal(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_connections",
        format!(
            "too many {what} from this address at once (limits.connections_per_source); \
             retry once one has finished"
        ),
    )
}

/// Answers a connection over the cap with a 429 and closes it, in the background and
/// within a second: it holds none of the server's connection slots meanwhile. What the
/// client sent is read and dropped before closing, so that it sees the answer rather than
/// a reset.
pub fn refuse(mut stream: TcpStream) {
    tokio::spawn(async move {
        let body = serde_json::to_vec(&refusal("connections").body()).unwrap_or_default();
        let head = format!(
            "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
             retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&body).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
            std::io::Result::Ok(())
        })
        .await;
    });
}

/// Middleware: a request through a trusted proxy counts against the client address the
/// proxy forwarded while it is in flight; over the cap it is answered 429.
pub async fn forwarded_cap(req: Request, next: axum::middleware::Next) -> Response {
    let limiter = req.extensions().get::<PerSource>().cloned();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let (Some(limiter), Some(peer)) = (limiter, peer) else {
        return next.run(req).await;
    };
    if limiter.cap == 0 || !limiter.is_trusted(peer) {
        return next.run(req).await;
    }
    let client = client_ip(peer, req.headers(), &limiter.trusted);
    match limiter.admit(client) {
        Ok(held) => {
            let res = next.run(req).await;
            drop(held);
            res
        }
        Err(OverCap) => {
            let mut res = refusal("requests").into_response();
            res.headers_mut().insert(RETRY_AFTER, 1.into());
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_source_holds_up_to_the_cap_and_gets_its_slots_back() {
        let l = PerSource::new(2, &[]);
        let a = l.admit(ip("192.0.2.1")).unwrap();
        let b = l.admit(ip("192.0.2.1")).unwrap();
        assert!(l.admit(ip("192.0.2.1")).is_err());
        assert!(
            l.admit(ip("192.0.2.2")).unwrap().is_some(),
            "another source"
        );
        // One IPv6 /64 is one source.
        let _c = l.admit(ip("2001:db8::1")).unwrap();
        let _d = l.admit(ip("2001:db8::2")).unwrap();
        assert!(l.admit(ip("2001:db8::ffff")).is_err());
        drop(a);
        assert!(
            l.admit(ip("192.0.2.1")).is_ok(),
            "a closed one frees a slot"
        );
        drop(b);
        assert_eq!(l.refused_total(), 2);
        assert!(PerSource::new(0, &[])
            .admit(ip("192.0.2.1"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn only_a_trusted_proxy_says_the_client_used_https() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-proto", v.parse().unwrap());
            h
        };
        assert!(client_https(ip("10.0.0.5"), &with("https"), &trusted));
        assert!(client_https(ip("10.0.0.5"), &with("HTTPS"), &trusted));
        // The right-most value is the trusted proxy's own.
        assert!(client_https(ip("10.0.0.5"), &with("http, https"), &trusted));
        assert!(!client_https(
            ip("10.0.0.5"),
            &with("https, http"),
            &trusted
        ));
        assert!(!client_https(ip("10.0.0.5"), &with("http"), &trusted));
        assert!(!client_https(ip("10.0.0.5"), &HeaderMap::new(), &trusted));
        // Anyone else's header is ignored.
        assert!(!client_https(ip("203.0.113.9"), &with("https"), &trusted));
    }

    #[test]
    fn only_a_trusted_proxy_is_believed_and_only_for_what_it_wrote() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 198.51.100.7, 10.1.2.3".parse().unwrap(),
        );
        // From a trusted proxy: the right-most address that is not a proxy.
        assert_eq!(client_ip(ip("10.0.0.5"), &h, &trusted), ip("198.51.100.7"));
        // From anyone else the header is ignored.
        assert_eq!(
            client_ip(ip("203.0.113.9"), &h, &trusted),
            ip("203.0.113.9")
        );
        // A trusted proxy with nothing usable is itself the source.
        assert_eq!(
            client_ip(ip("10.0.0.5"), &HeaderMap::new(), &trusted),
            ip("10.0.0.5")
        );
        h.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(client_ip(ip("10.0.0.5"), &h, &trusted), ip("10.0.0.5"));
        h.insert("x-forwarded-for", "[2001:db8::7]:443".parse().unwrap());
        assert_eq!(client_ip(ip("10.0.0.5"), &h, &trusted), ip("2001:db8::7"));
    }
}
