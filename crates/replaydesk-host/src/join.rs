//! The join info students' clients need: where to report, which class, with which
//! credential; as text and as a QR code (SVG).

use super::{JoinAddress, JoinInfo};
use replaydesk_service::join::{join_qr_svg, join_text};
use std::net::{IpAddr, SocketAddr, UdpSocket};

/// The URL students' clients use for a server bound to `bound`: a wildcard address
/// (0.0.0.0 / ::) is replaced by this machine's LAN address when one can be found.
pub fn server_url_for(bound: SocketAddr) -> String {
    let ip = if bound.ip().is_unspecified() {
        lan_address().unwrap_or(bound.ip())
    } else {
        bound.ip()
    };
    match ip {
        IpAddr::V6(v6) => format!("http://[{v6}]:{}", bound.port()),
        IpAddr::V4(v4) => format!("http://{v4}:{}", bound.port()),
    }
}

/// The address this machine would use to reach other networks. "Connecting" a UDP socket
/// sends nothing; it only asks the routing table.
fn lan_address() -> Option<IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?; // TEST-NET-1: never routed to anyone
    Some(s.local_addr().ok()?.ip()).filter(|ip| !ip.is_unspecified())
}

/// This machine's addresses as other devices could use them for a server bound to
/// `bound`, the routing table's own choice first: every non-loopback interface address at
/// its port when it listens on all addresses, or on loopback only (then they are what
/// students could use once it listens on the network); just `bound` when it is bound to
/// one address. Link-local addresses are left out: they change with every network and
/// IPv6 ones need a zone students' clients cannot be told.
pub fn network_addresses(bound: SocketAddr) -> Vec<JoinAddress> {
    if !bound.ip().is_unspecified() && !bound.ip().is_loopback() {
        return vec![JoinAddress {
            url: url_of(bound.ip(), bound.port()),
            interface: None,
        }];
    }
    let v6_too = bound.is_ipv6();
    let mut found: Vec<(IpAddr, String)> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| !i.is_loopback())
        .map(|i| (i.ip(), i.name))
        .filter(|(ip, _)| match ip {
            IpAddr::V4(v4) => !v4.is_link_local() && !v4.is_unspecified(),
            IpAddr::V6(v6) => {
                v6_too && !v6.is_unspecified() && (v6.segments()[0] & 0xffc0) != 0xfe80
            }
        })
        .collect();
    let preferred = lan_address();
    // The route's choice first, then IPv4 (what people type), each in the system's order.
    found.sort_by_key(|(ip, _)| (Some(*ip) != preferred, ip.is_ipv6()));
    found.dedup_by_key(|(ip, _)| *ip);
    found
        .into_iter()
        .map(|(ip, name)| JoinAddress {
            url: url_of(ip, bound.port()),
            interface: Some(name),
        })
        .collect()
}

fn url_of(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V6(v6) => format!("http://[{v6}]:{port}"),
        IpAddr::V4(v4) => format!("http://{v4}:{port}"),
    }
}

/// True when `server_url` names this machine's loopback, which on a student's device
/// means that device itself.
pub fn is_loopback_url(server_url: &str) -> bool {
    let rest = server_url.split_once("://").map_or(server_url, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// What the Host page says when students cannot use `server_url`, with what to do.
fn unreachable_warning(server_url: &str, addresses: &[JoinAddress]) -> String {
    let mut w = format!(
        "Students' devices cannot reach {server_url}: that address means \"this device\" on each of them, \
         so their clients would report to themselves. ReplayDesk listens only on this computer. \
         To let students join, set the listen address to 0.0.0.0 with the same port in Settings and restart"
    );
    if addresses.is_empty() {
        w.push_str(
            "; this computer has no network address right now: connect it to the classroom's network first.",
        );
    } else {
        w.push_str(&format!(
            "; students then reach it at {}.",
            addresses
                .iter()
                .map(|a| a.url.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    w
}

impl JoinInfo {
    /// `member` is a uid and its report credential; `addresses` are this machine's
    /// ([`network_addresses`]).
    pub fn new(
        server_url: &str,
        class_id: &str,
        member: Option<(String, String)>,
        addresses: Vec<JoinAddress>,
    ) -> Self {
        let text = join_text(
            server_url,
            class_id,
            member.as_ref().map(|(u, c)| (u.as_str(), c.as_str())),
        );
        let credential_note = match &member {
            Some((uid, _)) => format!("The credential speaks for {uid} only: that student's client reports with it (Authorization: Bearer <credential>)."),
            None => "Each student reports with a credential of their own: enter a student's user id to make theirs.".to_owned(),
        };
        let (uid, credential) = member.unzip();
        let reachable = !is_loopback_url(server_url);
        let warning = (!reachable).then(|| unreachable_warning(server_url, &addresses));
        Self {
            reachable,
            warning,
            addresses,
            server_url: server_url.to_owned(),
            class_id: class_id.to_owned(),
            qr_svg: join_qr_svg(&text),
            uid,
            credential,
            credential_note,
            text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_url_is_kept_and_wildcard_becomes_an_address() {
        assert_eq!(
            server_url_for("127.0.0.1:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            server_url_for("[::1]:81".parse().unwrap()),
            "http://[::1]:81"
        );
        let lan = server_url_for("0.0.0.0:8080".parse().unwrap());
        assert!(!lan.contains("0.0.0.0"), "{lan}");
        assert!(lan.ends_with(":8080"), "{lan}");
    }

    #[test]
    fn join_info_carries_everything_as_text_and_qr() {
        let j = JoinInfo::new(
            "http://10.0.0.5:8080",
            "c-1",
            Some(("stu_1".into(), "cred123".into())),
            Vec::new(),
        );
        assert_eq!(
            j.text,
            "server_url: http://10.0.0.5:8080\nclass_id: c-1\nuid: stu_1\ncredential: cred123\n"
        );
        assert!(j.qr_svg.starts_with("<?xml") && j.qr_svg.contains("<svg"));
        assert!(!j.qr_svg.contains("<script"));
        let without = JoinInfo::new("http://10.0.0.5:8080", "c-1", None, Vec::new());
        assert!(!without.text.contains("credential"));
        assert_eq!(without.credential, None);
        assert!(j.reachable && j.warning.is_none());
    }

    #[test]
    fn a_loopback_url_warns_and_names_the_addresses_students_could_use() {
        for url in [
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
            "http://localhost:8080/",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "http://10.0.0.5:8080",
            "http://[fd00::5]:8080",
            "http://desk.lan",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
        let lan = vec![JoinAddress {
            url: "http://192.168.1.20:8080".into(),
            interface: Some("wlan0".into()),
        }];
        let j = JoinInfo::new("http://127.0.0.1:8080", "c-1", None, lan.clone());
        assert!(!j.reachable);
        let w = j.warning.as_deref().unwrap();
        assert!(w.contains("cannot reach http://127.0.0.1:8080"), "{w}");
        assert!(
            w.contains("0.0.0.0") && w.contains("http://192.168.1.20:8080"),
            "{w}"
        );
        assert_eq!(j.addresses, lan);
        let alone = JoinInfo::new("http://127.0.0.1:8080", "c-1", None, Vec::new());
        assert!(alone.warning.unwrap().contains("no network address"));
    }

    #[test]
    fn network_addresses_keep_the_port_and_leave_loopback_out() {
        let bound_one: SocketAddr = "192.168.1.5:81".parse().unwrap();
        assert_eq!(
            network_addresses(bound_one),
            vec![JoinAddress {
                url: "http://192.168.1.5:81".into(),
                interface: None
            }]
        );
        for bound in ["127.0.0.1:8080", "0.0.0.0:8080"] {
            for a in network_addresses(bound.parse().unwrap()) {
                assert!(a.url.ends_with(":8080"), "{a:?}");
                assert!(
                    !a.url.contains("127.0.0.1") && !a.url.contains("169.254."),
                    "{a:?}"
                );
                assert!(a.interface.is_some(), "{a:?}");
            }
        }
    }
}
