//! Credentials: the members' report credentials and the legacy class-wide report token.
//! (The console's people, their sessions and tokens, and the bootstrap admin token:
//! `people/`.)
//!
//! One file although long: the credential's derivation and every check made against it
//! (and their tests) must be read together; a check apart from its format is how a
//! credential gets accepted for the wrong class.
//!
//! A member's credential speaks for one uid of one class. It is derived, not stored:
//! `rdc2.<class_id>.<uid>.<generation>.<mac>` (each part base64url, the generation in
//! decimal), where `mac` is HMAC-SHA256 under the class's own random key of the class id,
//! uid and generation. So the server can check it without keeping it, tell "another
//! uid's" or "another class's" credential from a forged one, and refuse every generation
//! but the member's current one: issuing again (generation + 1) replaces the old
//! credential, revoking refuses them all. Generation 0 is `rdc1.<class_id>.<uid>.<mac>`,
//! the form from before issuing existed (the teacher's from class creation, the host
//! app's), accepted while the member was never issued one nor revoked.

use super::api::models;
use super::{validate, ReplayDesk, ServiceError, ServiceResult};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use replaydesk_store::Actor;
use replaydesk_store::{ClassAuth, ClassRecord, MemberRole, RosterMember};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use ts_rs::TS;

/// SHA-256 of a token, lower-case hex (what the store keeps).
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// What a generation-0 member credential starts with (and what tells it from a legacy token).
const CREDENTIAL_PREFIX: &str = "rdc1.";
/// What an issued member credential (generation 1 and later) starts with.
const ISSUED_PREFIX: &str = "rdc2.";
/// Domain separation: this key signs nothing else, but say what the MAC is of.
const CREDENTIAL_CONTEXT: &[u8] = b"replaydesk report credential v1\0";
const ISSUED_CONTEXT: &[u8] = b"replaydesk report credential v2\0";

fn credential_mac(key_hex: &str, class_id: &str, uid: &str, generation: i64) -> Vec<u8> {
    // The key is stored as hex text; its bytes are the MAC key as they are (an HMAC key of
    // any length is fine).
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key_hex.as_bytes()).expect("HMAC takes any key length");
    mac.update(if generation == 0 {
        CREDENTIAL_CONTEXT
    } else {
        ISSUED_CONTEXT
    });
    mac.update(class_id.as_bytes());
    mac.update(b"\0");
    mac.update(uid.as_bytes());
    if generation != 0 {
        mac.update(b"\0");
        mac.update(generation.to_string().as_bytes());
    }
    mac.finalize().into_bytes().to_vec()
}

/// The credential of `generation` for `uid` in `class_id` under the class's key.
pub(crate) fn derive_credential(
    key_hex: &str,
    class_id: &str,
    uid: &str,
    generation: i64,
) -> String {
    let (c, u) = (
        URL_SAFE_NO_PAD.encode(class_id),
        URL_SAFE_NO_PAD.encode(uid),
    );
    let mac = URL_SAFE_NO_PAD.encode(credential_mac(key_hex, class_id, uid, generation));
    if generation == 0 {
        format!("{CREDENTIAL_PREFIX}{c}.{u}.{mac}")
    } else {
        format!("{ISSUED_PREFIX}{c}.{u}.{generation}.{mac}")
    }
}

/// A presented member credential, split (not yet verified).
struct PresentedCredential {
    class_id: String,
    uid: String,
    generation: i64,
    mac: Vec<u8>,
}

fn parse_credential(p: &str) -> Option<PresentedCredential> {
    let (rest, issued) = match p.strip_prefix(CREDENTIAL_PREFIX) {
        Some(rest) => (rest, false),
        None => (p.strip_prefix(ISSUED_PREFIX)?, true),
    };
    let mut parts = rest.split('.');
    let (c, u) = (parts.next()?, parts.next()?);
    let generation = if issued {
        let g = parts.next()?;
        // Decimal digits only, no sign or leading zero: one text per generation.
        if g.is_empty() || g.starts_with('0') || !g.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        g.parse::<i64>().ok()?
    } else {
        0
    };
    let m = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let text = |s: &str| String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok();
    Some(PresentedCredential {
        class_id: text(c)?,
        uid: text(u)?,
        generation,
        mac: URL_SAFE_NO_PAD.decode(m).ok()?,
    })
}

fn verifies(auth: &ClassAuth, cred: &PresentedCredential) -> bool {
    if auth.credential_key.is_empty() {
        return false;
    }
    let expected = credential_mac(
        &auth.credential_key,
        &cred.class_id,
        &cred.uid,
        cred.generation,
    );
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
    pub role: models::MemberRole,
    /// `Authorization: Bearer <credential>` on the class's report routes, for this uid only.
    pub credential: String,
    /// Its generation: only the member's newest is accepted.
    #[ts(type = "number")]
    pub generation: i64,
}

impl std::fmt::Debug for MemberCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberCredential")
            .field("class_id", &self.class_id)
            .field("uid", &self.uid)
            .field("role", &self.role)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// One student's card on a class's join sheet: the credential just issued, as text and as
/// a QR code. Shown once; the server keeps no copy.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct JoinCard {
    pub uid: String,
    pub role: models::MemberRole,
    #[ts(type = "number")]
    pub generation: i64,
    pub credential: String,
    /// `server_url` (when given), `class_id`, `uid` and `credential`, one `key: value` a line.
    pub text: String,
    /// The same as a QR code (SVG markup, no scripts; shown as an image).
    pub qr_svg: String,
}

impl std::fmt::Debug for JoinCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinCard")
            .field("uid", &self.uid)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A class's join sheet: new credentials for the members asked for, one card each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct JoinSheet {
    pub class_id: String,
    pub server_url: Option<String>,
    #[ts(type = "number")]
    pub issued_at: i64,
    pub cards: Vec<JoinCard>,
}

/// Most members one join sheet issues credentials for.
pub const MAX_SHEET_MEMBERS: usize = 1000;

/// A server URL to print on join cards: `http://` or `https://`, no spaces or control
/// characters, at most 200 characters.
fn server_url(v: &str) -> Result<(), String> {
    let n = v.chars().count();
    if n > 200 {
        return Err(format!("server_url: longer than 200 characters ({n})"));
    }
    let rest = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"))
        .ok_or_else(|| format!("server_url: must start with http:// or https://, got {v:?}"))?;
    if rest.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("server_url: not a URL: {v:?}"));
    }
    Ok(())
}

impl ReplayDesk {
    /// Issues new credentials for `req.uids` (default: every student of the class) and
    /// lays them out as join cards. Each member's earlier credential stops being accepted;
    /// each issue is audited. Every uid is checked before anything is issued.
    pub async fn issue_join_sheet(
        &self,
        class_id: &str,
        req: super::requests::IssueCredentials,
        actor: &Actor,
    ) -> ServiceResult<JoinSheet> {
        if let Some(u) = &req.server_url {
            server_url(u).map_err(ServiceError::Invalid)?;
        }
        super::import::refuse_if_imported(
            &self.class(class_id).await?,
            "giving out report credentials",
        )?;
        let uids: Vec<String> = match req.uids {
            Some(uids) => {
                if uids.is_empty() || uids.len() > MAX_SHEET_MEMBERS {
                    return Err(ServiceError::Invalid(format!(
                        "uids: 1 to {MAX_SHEET_MEMBERS} uids, got {}",
                        uids.len()
                    )));
                }
                for (i, u) in uids.iter().enumerate() {
                    self.check_member_uid(class_id, &format!("uids[{i}]"), u)
                        .await
                        .map_err(ServiceError::Invalid)?;
                }
                let mut seen = std::collections::HashSet::new();
                uids.into_iter()
                    .filter(|u| seen.insert(u.clone()))
                    .collect()
            }
            None => self
                .inner
                .store
                .roster(class_id)
                .await?
                .into_iter()
                .filter(|m| m.member.role == MemberRole::Student)
                .map(|m| m.member.uid)
                .take(MAX_SHEET_MEMBERS)
                .collect(),
        };
        let auth = self.class_key(class_id).await?;
        let mut cards = Vec::with_capacity(uids.len());
        for uid in &uids {
            let member = self
                .inner
                .store
                .issue_credential(class_id, uid, actor)
                .await?;
            let c = credential_of(&auth, &member);
            let text = match &req.server_url {
                Some(url) => crate::join::join_text(url, class_id, Some((uid, &c.credential))),
                None => format!(
                    "class_id: {class_id}\nuid: {uid}\ncredential: {}\n",
                    c.credential
                ),
            };
            cards.push(JoinCard {
                qr_svg: crate::join::join_qr_svg(&text),
                uid: c.uid,
                role: c.role,
                generation: c.generation,
                credential: c.credential,
                text,
            });
        }
        Ok(JoinSheet {
            class_id: class_id.to_owned(),
            server_url: req.server_url,
            issued_at: replaydesk_store::now_ms(),
            cards,
        })
    }

    /// Registers a roster: `uids` become students of `class_id` before they report.
    /// Every uid is checked first (1 to [`MAX_SHEET_MEMBERS`]); audited as `add_members`.
    pub async fn add_members(
        &self,
        class_id: &str,
        req: super::requests::AddMembers,
        actor: &Actor,
    ) -> ServiceResult<replaydesk_store::AddedMembers> {
        if req.uids.is_empty() || req.uids.len() > MAX_SHEET_MEMBERS {
            return Err(ServiceError::Invalid(format!(
                "uids: 1 to {MAX_SHEET_MEMBERS} uids, got {}",
                req.uids.len()
            )));
        }
        for (i, u) in req.uids.iter().enumerate() {
            // A new uid follows the identifier rule; a member stored before it keeps its id.
            self.check_member_uid(class_id, &format!("uids[{i}]"), u)
                .await
                .map_err(ServiceError::Invalid)?;
        }
        super::import::refuse_if_imported(&self.class(class_id).await?, "adding members")?;
        let mut seen = std::collections::HashSet::new();
        let uids: Vec<String> = req
            .uids
            .into_iter()
            .filter(|u| seen.insert(u.clone()))
            .collect();
        Ok(self.inner.store.add_members(class_id, &uids, actor).await?)
    }

    /// A class's roster with each member's credential state (never a credential).
    pub async fn roster(&self, class_id: &str) -> ServiceResult<Vec<RosterMember>> {
        self.class(class_id).await?;
        Ok(self.inner.store.roster(class_id).await?)
    }
}

impl ReplayDesk {
    /// The checks before a credential of `uid` in `class_id` is given out (a printable uid
    /// of a live class; a new uid follows the identifier rule, a member stored before it
    /// keeps its id), then the class's key to make it with.
    async fn credential_class_key(&self, class_id: &str, uid: &str) -> ServiceResult<ClassAuth> {
        validate::uid_printable("uid", uid).map_err(ServiceError::Invalid)?;
        super::import::refuse_if_imported(
            &self.class(class_id).await?,
            "giving out report credentials",
        )?;
        self.check_member_uid(class_id, "uid", uid)
            .await
            .map_err(ServiceError::Invalid)?;
        self.class_key(class_id).await
    }

    /// The member's current report credential (the one its newest generation gives),
    /// enrolling the uid as a student when the class does not know it yet (the teacher keeps
    /// its role). For the host app, on its teacher's own machine: asking again gives the
    /// same credential and replaces nothing. A revoked credential is a conflict (an admin
    /// issues a new one).
    pub async fn member_credential(
        &self,
        class_id: &str,
        uid: &str,
    ) -> ServiceResult<MemberCredential> {
        let auth = self.credential_class_key(class_id, uid).await?;
        self.inner.store.enrol_member(class_id, uid).await?;
        let member = self
            .inner
            .store
            .roster_member(class_id, uid)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("member {uid:?} of {class_id:?}")))?;
        if member.credential.revoked_at.is_some() {
            return Err(ServiceError::Conflict(format!(
                "the credential of {uid:?} in class {class_id:?} is revoked: issue a new one"
            )));
        }
        Ok(credential_of(&auth, &member))
    }

    /// Issues `uid` a new credential in `class_id` (enrolling an unknown uid as a student):
    /// the member's earlier credentials are refused from now on. Audited as
    /// `issue_credential`. The answer is the only place the credential is ever shown.
    pub async fn issue_member_credential(
        &self,
        class_id: &str,
        uid: &str,
        actor: &Actor,
    ) -> ServiceResult<MemberCredential> {
        let auth = self.credential_class_key(class_id, uid).await?;
        let member = self
            .inner
            .store
            .issue_credential(class_id, uid, actor)
            .await?;
        Ok(credential_of(&auth, &member))
    }

    /// Revokes `uid`'s credential in `class_id`: the member's reports are refused until an
    /// admin issues a new one. Audited as `revoke_credential`.
    pub async fn revoke_member_credential(
        &self,
        class_id: &str,
        uid: &str,
        actor: &Actor,
    ) -> ServiceResult<RosterMember> {
        super::import::refuse_if_imported(&self.class(class_id).await?, "revoking credentials")?;
        Ok(self
            .inner
            .store
            .revoke_credential(class_id, uid, actor)
            .await?)
    }

    async fn class_key(&self, class_id: &str) -> ServiceResult<ClassAuth> {
        self.inner
            .store
            .class_auth(class_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("class {class_id:?} not found")))
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
            let state = entry.auth.credential_state(&cred.uid);
            if state.revoked {
                return Err(ServiceError::Unauthorized(format!(
                    "the report credential of {:?} was revoked: ask the class's admin for a new one",
                    cred.uid
                )));
            }
            if state.generation != cred.generation {
                return Err(ServiceError::Unauthorized(format!(
                    "this report credential of {:?} was replaced by a newer one: use the newest",
                    cred.uid
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

fn credential_of(auth: &ClassAuth, member: &RosterMember) -> MemberCredential {
    let m = &member.member;
    MemberCredential {
        class_id: m.class_id.clone(),
        uid: m.uid.clone(),
        role: m.role.into(),
        credential: derive_credential(
            &auth.credential_key,
            &m.class_id,
            &m.uid,
            member.credential.generation,
        ),
        generation: member.credential.generation,
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
        let c = derive_credential(key, "room42", "stu 1/é", 0);
        let p = parse_credential(&c).expect("parses");
        assert_eq!((p.class_id.as_str(), p.uid.as_str()), ("room42", "stu 1/é"));
        let auth = |k: &str| ClassAuth {
            credential_key: k.into(),
            report_token_sha256: String::new(),
            legacy_class_token: false,
            member_credentials: Default::default(),
        };
        assert!(verifies(&auth(key), &p));
        assert!(!verifies(&auth("other"), &p));
        assert!(!verifies(&auth(""), &p));
        // Another uid's MAC with this uid's name does not verify.
        let other = parse_credential(&derive_credential(key, "room42", "teacher", 0)).unwrap();
        let forged = PresentedCredential {
            uid: "stu 1/é".into(),
            ..other
        };
        assert!(!verifies(&auth(key), &forged));
        assert!(parse_credential("rdc1.a.b").is_none());
        assert!(parse_credential("rdc1.a.b.c.d").is_none());
        assert!(parse_credential("legacytoken").is_none());
    }

    #[test]
    fn an_issued_credential_carries_its_generation_under_the_mac() {
        let key = "00112233";
        let auth = ClassAuth {
            credential_key: key.into(),
            ..Default::default()
        };
        let c2 = derive_credential(key, "room42", "stu_1", 2);
        assert!(c2.starts_with("rdc2.") && c2.contains(".2."), "{c2}");
        let p = parse_credential(&c2).expect("parses");
        assert_eq!(p.generation, 2);
        assert!(verifies(&auth, &p));
        // Claiming another generation with generation 2's MAC does not verify.
        let forged = PresentedCredential { generation: 3, ..p };
        assert!(!verifies(&auth, &forged));
        // Nor does generation 0's MAC passed off as an issued one.
        let zero = parse_credential(&derive_credential(key, "room42", "stu_1", 0)).unwrap();
        assert!(!verifies(
            &auth,
            &PresentedCredential {
                generation: 1,
                ..zero
            }
        ));
        for bad in [
            "rdc2.a.b.c",
            "rdc2.YQ.Yg.01.c",
            "rdc2.YQ.Yg.-1.c",
            "rdc2.YQ.Yg..c",
        ] {
            assert!(parse_credential(bad).is_none(), "{bad}");
        }
    }
}
