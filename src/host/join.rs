//! The join info students' clients need: where to report, which class, with which
//! credential; as text and as a QR code (SVG).

use super::JoinInfo;
use qrcode::render::svg;
use qrcode::QrCode;
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

/// `server_url`, `class_id` and a member's uid and credential, one per line.
pub fn join_text(server_url: &str, class_id: &str, member: Option<(&str, &str)>) -> String {
    let mut t = format!("server_url: {server_url}\nclass_id: {class_id}\n");
    if let Some((uid, credential)) = member {
        t.push_str(&format!("uid: {uid}\ncredential: {credential}\n"));
    }
    t
}

/// The join text as a QR code, SVG markup.
pub fn join_qr_svg(text: &str) -> String {
    match QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        // Only a text longer than a QR code holds (~2900 bytes) fails; join texts are short.
        Err(_) => String::new(),
    }
}

impl JoinInfo {
    /// `member` is a uid and its report credential.
    pub fn new(server_url: &str, class_id: &str, member: Option<(String, String)>) -> Self {
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
        Self {
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
        );
        assert_eq!(
            j.text,
            "server_url: http://10.0.0.5:8080\nclass_id: c-1\nuid: stu_1\ncredential: cred123\n"
        );
        assert!(j.qr_svg.starts_with("<?xml") && j.qr_svg.contains("<svg"));
        assert!(!j.qr_svg.contains("<script"));
        let without = JoinInfo::new("http://10.0.0.5:8080", "c-1", None);
        assert!(!without.text.contains("credential"));
        assert_eq!(without.credential, None);
    }
}
