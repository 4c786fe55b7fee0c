//! What a student needs to join a class (the server's address, the class, their uid and
//! report credential) as text and as a QR code: the console's join sheet and the desktop
//! app's join panel show the same.

use qrcode::render::svg;
use qrcode::QrCode;

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
