//! The UserSig verifier (docs/protocol.md section 3) as the emulator runs it on every IM call.
//!
//! Two halves of the input: as a sig text presented by a caller (must never panic, and an
//! accepted sig must be for the app, identifier and time presented), and as the fields of a
//! sig we make (identifier, time, expire, user buffer), which must verify with its key,
//! and be refused with another key, for another identifier, and after it expires.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replaydesk::im::usersig::{generate_with_userbuf, verify, UserSigError};

const APP: u64 = 1_400_000_000;
const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const NOW: i64 = 1_795_340_000;

fn int(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    // 1. A presented sig.
    if let Ok(sig) = std::str::from_utf8(data) {
        if let Ok(v) = verify(sig, APP, "administrator", KEY, NOW) {
            assert_eq!(v.sdkappid, APP);
            assert_eq!(v.identifier, "administrator");
            assert!(i128::from(NOW) <= v.expires_at(), "expired sig accepted");
        }
    }

    // 2. A sig we make: 8 bytes time, 8 bytes expire, 1 byte split, identifier, userbuf.
    // Making one deflates (about a millisecond here, fifty times the cost of reading one),
    // so only inputs whose first byte is a multiple of 8 make one.
    if data.len() < 17 || data[0] % 8 != 0 {
        return;
    }
    let time = int(&data[..8]) as i64;
    let expire = int(&data[8..16]);
    let rest = &data[17..];
    let split = usize::from(data[16]).min(rest.len());
    let identifier = String::from_utf8_lossy(&rest[..split]).into_owned();
    let userbuf = (data[16] & 1 == 1).then_some(&rest[split..]);
    let sig = generate_with_userbuf(APP, &identifier, KEY, time, expire, userbuf);

    let v = verify(&sig, APP, &identifier, KEY, time)
        .unwrap_or_else(|e| panic!("a sig we made is refused: {e}"));
    assert_eq!(
        (v.identifier.as_str(), v.sdkappid, v.time, v.expire),
        (identifier.as_str(), APP, time, expire)
    );
    assert_eq!(v.userbuf.as_deref(), userbuf);
    assert_eq!(
        verify(&sig, APP, &identifier, "another key", time),
        Err(UserSigError::BadSignature)
    );
    assert!(matches!(
        verify(&sig, APP + 1, &identifier, KEY, time),
        Err(UserSigError::SdkAppIdMismatch { .. })
    ));
    let other = format!("{identifier}x");
    assert!(matches!(
        verify(&sig, APP, &other, KEY, time),
        Err(UserSigError::IdentifierMismatch { .. })
    ));
    let after = v.expires_at() + 1;
    if let Ok(after) = i64::try_from(after) {
        assert!(matches!(
            verify(&sig, APP, &identifier, KEY, after),
            Err(UserSigError::Expired { .. })
        ));
    }
});
