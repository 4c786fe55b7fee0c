//! Credentials: the admin bearer token, the members' report credentials, and the legacy
//! class-wide report token.
//!
//! A member's credential speaks for one uid of one class. It is derived, not stored:
//! `rdc1.<class_id>.<uid>.<mac>` (each part base64url), where `mac` is HMAC-SHA256 under
//! the class's own random key of the class id and uid. So the server can check it without
//! a row per student, tell "another uid's" or "another class's" credential from a forged
//! one, and the host app or an admin can hand a student theirs at any time.

use super::{validate, ReplayDesk, ServiceError, ServiceResult};
use crate::store::{ClassAuth, ClassRecord, Member, MemberRole};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use ts_rs::TS;

/// SHA-256 of a token, lower-case hex (what the store keeps).
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// What every member credential starts with (and what tells it from a legacy token).
const CREDENTIAL_PREFIX: &str = "rdc1.";
/// Domain separation: this key signs nothing else, but say what the MAC is of.
const CREDENTIAL_CONTEXT: &[u8] = b"replaydesk report credential v1\0";

fn credential_mac(key_hex: &str, class_id: &str, uid: &str) -> Vec<u8> {
    // The key is stored as hex text; its bytes are the MAC key as they are (an HMAC key of
    // any length is fine).
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key_hex.as_bytes()).expect("HMAC takes any key length");
    mac.update(CREDENTIAL_CONTEXT);
    mac.update(class_id.as_bytes());
    mac.update(b"\0");
    mac.update(uid.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The credential for `uid` in `class_id` under the class's key.
pub(crate) fn derive_credential(key_hex: &str, class_id: &str, uid: &str) -> String {
    format!(
        "{CREDENTIAL_PREFIX}{}.{}.{}",
        URL_SAFE_NO_PAD.encode(class_id),
        URL_SAFE_NO_PAD.encode(uid),
        URL_SAFE_NO_PAD.encode(credential_mac(key_hex, class_id, uid))
    )
}

/// A presented member credential, split (not yet verified).
struct PresentedCredential {
    class_id: String,
    uid: String,
    mac: Vec<u8>,
}

fn parse_credential(p: &str) -> Option<PresentedCredential> {
    let rest = p.strip_prefix(CREDENTIAL_PREFIX)?;
    let mut parts = rest.split('.');
    let (c, u, m) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let text = |s: &str| String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok();
    Some(PresentedCredential {
        class_id: text(c)?,
        uid: text(u)?,
        mac: URL_SAFE_NO_PAD.decode(m).ok()?,
    })
}

fn verifies(auth: &ClassAuth, cred: &PresentedCredential) -> bool {
    if auth.credential_key.is_empty() {
        return false;
    }
    let expected = credential_mac(&auth.credential_key, &cred.class_id, &cred.uid);
    expected.ct_eq(&cred.mac).into()
}

/// What a report's credential allows: reports to `class`, for `uid` only, or (legacy
/// class-wide token, `uid: None`) for any member.
#[derive(Debug, Clone)]
pub struct ReportGrant {
    pub class: ClassRecord,
    pub uid: Option<String>,
}

/// A member's report credential, for the host app or an admin to hand to the member.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct MemberCredential {
    pub class_id: String,
    pub uid: String,
    pub role: MemberRole,
    /// `Authorization: Bearer <credential>` on the class's report routes, for this uid only.
    pub credential: String,
}

impl std::fmt::Debug for MemberCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberCredential")
            .field("class_id", &self.class_id)
            .field("uid", &self.uid)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
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

    /// The report credential of `uid` in `class_id`, enrolling the uid as a student when the
    /// class does not know it yet (the teacher keeps its role). For the host app and admins.
    pub async fn member_credential(
        &self,
        class_id: &str,
        uid: &str,
    ) -> ServiceResult<MemberCredential> {
        validate::uid_printable("uid", uid).map_err(ServiceError::Invalid)?;
        super::import::refuse_if_imported(
            &self.class(class_id).await?,
            "giving out report credentials",
        )?;
        self.check_member_uid(class_id, "uid", uid)
            .await
            .map_err(ServiceError::Invalid)?;
        let auth = self
            .inner
            .store
            .class_auth(class_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("class {class_id:?} not found")))?;
        let member: Member = self.inner.store.enrol_member(class_id, uid).await?;
        Ok(MemberCredential {
            class_id: class_id.to_owned(),
            uid: uid.to_owned(),
            role: member.role,
            credential: derive_credential(&auth.credential_key, class_id, uid),
        })
    }

    /// Checks a report credential for `class_id`. 401 when it is missing, forged, or the
    /// class is unknown (so that a wrong credential cannot probe which classes exist); 403
    /// when it is a genuine credential of another class, or the class-wide token of a class
    /// that no longer accepts it.
    pub async fn authorize_report(
        &self,
        class_id: &str,
        presented: Option<&str>,
    ) -> ServiceResult<ReportGrant> {
        let Some(p) = presented else {
            return Err(ServiceError::Unauthorized(
                "report credential required (Authorization: Bearer <credential>)".into(),
            ));
        };
        let store = &self.inner.store;
        if let Some(cred) = parse_credential(p) {
            // The class and its key come from the in-process cache (see `store::cache`).
            let genuine = store
                .class_entry(&cred.class_id)
                .await?
                .filter(|e| verifies(&e.auth, &cred));
            let Some(entry) = genuine else {
                return Err(ServiceError::Unauthorized("wrong report credential".into()));
            };
            if cred.class_id != class_id {
                return Err(ServiceError::Forbidden(format!(
                    "this report credential belongs to another class, not {class_id:?}"
                )));
            }
            return Ok(ReportGrant {
                class: entry.record.clone(),
                uid: Some(cred.uid),
            });
        }
        // A legacy class-wide token.
        let presented_hash = token_sha256(p);
        if let Some(entry) = store.class_entry(class_id).await? {
            let auth = &entry.auth;
            if bool::from(
                presented_hash
                    .as_bytes()
                    .ct_eq(auth.report_token_sha256.as_bytes()),
            ) {
                if !auth.legacy_class_token {
                    return Err(ServiceError::Forbidden(format!(
                        "class {class_id:?} takes per-member credentials only, not a class-wide token"
                    )));
                }
                return Ok(ReportGrant {
                    class: entry.record.clone(),
                    uid: None,
                });
            }
        }
        match store.class_for_report_token(&presented_hash).await? {
            Some(_) => Err(ServiceError::Forbidden(format!(
                "this report token belongs to another class, not {class_id:?}"
            ))),
            None => Err(ServiceError::Unauthorized("wrong report credential".into())),
        }
    }

    /// Checks that `grant` may report for `uid`: a member credential only for its own uid;
    /// the legacy class-wide token for a member, or anyone when the class allows open
    /// enrolment.
    pub async fn authorize_report_uid(&self, grant: &ReportGrant, uid: &str) -> ServiceResult<()> {
        match &grant.uid {
            Some(own) if own == uid => Ok(()),
            Some(own) => Err(ServiceError::Forbidden(format!(
                "this report credential speaks for uid {own:?} only, not {uid:?}"
            ))),
            None => {
                if grant.class.open_enrolment
                    || self
                        .inner
                        .store
                        .is_member(&grant.class.class_id, uid)
                        .await?
                {
                    Ok(())
                } else {
                    Err(ServiceError::Forbidden(format!(
                        "uid {uid:?} is not a member of class {:?}, and the class does not allow open enrolment",
                        grant.class.class_id
                    )))
                }
            }
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

    #[test]
    fn a_credential_names_its_class_and_uid_and_verifies_only_under_its_key() {
        let key = "00112233";
        let c = derive_credential(key, "room42", "stu 1/é");
        let p = parse_credential(&c).expect("parses");
        assert_eq!((p.class_id.as_str(), p.uid.as_str()), ("room42", "stu 1/é"));
        let auth = |k: &str| ClassAuth {
            credential_key: k.into(),
            report_token_sha256: String::new(),
            legacy_class_token: false,
        };
        assert!(verifies(&auth(key), &p));
        assert!(!verifies(&auth("other"), &p));
        assert!(!verifies(&auth(""), &p));
        // Another uid's MAC with this uid's name does not verify.
        let other = parse_credential(&derive_credential(key, "room42", "teacher")).unwrap();
        let forged = PresentedCredential {
            uid: "stu 1/é".into(),
            ..other
        };
        assert!(!verifies(&auth(key), &forged));
        assert!(parse_credential("rdc1.a.b").is_none());
        assert!(parse_credential("rdc1.a.b.c.d").is_none());
        assert!(parse_credential("legacytoken").is_none());
    }
}
