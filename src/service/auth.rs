//! Credentials: the admin bearer token and the classes' report tokens.

use super::{ReplayDesk, ServiceError, ServiceResult};
use crate::store::ClassRecord;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// SHA-256 of a token, lower-case hex (what the store keeps).
pub fn token_sha256(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl ReplayDesk {
    /// Checks an admin bearer token (constant time).
    pub fn check_admin_token(&self, presented: Option<&str>) -> ServiceResult<()> {
        let Some(p) = presented else {
            return Err(ServiceError::Unauthorized(
                "admin token required (Authorization: Bearer <token>)".into(),
            ));
        };
        let ok: bool = p
            .as_bytes()
            .ct_eq(self.inner.admin_token.expose().as_bytes())
            .into();
        if ok {
            Ok(())
        } else {
            Err(ServiceError::Unauthorized("wrong admin token".into()))
        }
    }

    /// Checks a report token for `class_id`: the class (404 if unknown) when it is the
    /// class's token; 401 when missing or unknown; 403 when it is another class's token.
    pub async fn authorize_report(
        &self,
        class_id: &str,
        presented: Option<&str>,
    ) -> ServiceResult<ClassRecord> {
        let Some(p) = presented else {
            return Err(ServiceError::Unauthorized(
                "report token required (Authorization: Bearer <token>)".into(),
            ));
        };
        let class = self.class(class_id).await?;
        let presented_hash = token_sha256(p);
        let expected = self
            .inner
            .store
            .report_token_sha256(class_id)
            .await?
            .unwrap_or_default();
        if bool::from(presented_hash.as_bytes().ct_eq(expected.as_bytes())) {
            return Ok(class);
        }
        match self
            .inner
            .store
            .class_for_report_token(&presented_hash)
            .await?
        {
            Some(_) => Err(ServiceError::Forbidden(format!(
                "this report token belongs to another class, not {class_id:?}"
            ))),
            None => Err(ServiceError::Unauthorized("wrong report token".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            token_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
