//! Passwords as Argon2id hashes (the `argon2` crate's defaults: 19 MiB, 2 passes, one
//! lane — OWASP's minimum for Argon2id), and what a new password must be.

use crate::{ServiceError, ServiceResult};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Shortest password taken: long enough that the throttle, not guessing, is the limit.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest: Argon2 takes any length, but a megabyte "password" is a way to burn CPU.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Checks a new password's length (never quoting it).
pub fn check_new(password: &str) -> ServiceResult<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(ServiceError::Invalid(format!(
            "password: at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(ServiceError::Invalid(format!(
            "password: at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// The PHC string (`$argon2id$v=19$...`) of `password` under a fresh random salt.
pub fn hash(password: &str) -> ServiceResult<String> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| ServiceError::Internal(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("password hash: {e}")))
}

/// Whether `password` matches the PHC string `stored` (constant time inside the crate).
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash nobody's password matches, checked when the name is unknown or has no password
/// yet, so that a sign-in takes as long whichever part was wrong.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("no one's password, ever").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_salted_and_verifies_only_its_password() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(!a.contains("correct horse"));
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify("anything", "not a phc string"));
    }

    #[test]
    fn new_passwords_have_bounds() {
        assert!(check_new("short").is_err());
        assert!(check_new(&"x".repeat(257)).is_err());
        assert!(check_new("long enough now").is_ok());
    }
}
