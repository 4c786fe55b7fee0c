//! Classes, their members and credentials, as the console shows them.

use super::*;

/// A class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ClassRecord {
    pub class_id: String,
    pub group_id: String,
    pub teacher_uid: String,
    pub state: ClassState,
    #[ts(type = "number")]
    pub created_at: i64,
    #[ts(type = "number | null")]
    pub started_at: Option<i64>,
    #[ts(type = "number | null")]
    pub ended_at: Option<i64>,
    /// The class-wide report token is accepted (legacy option, off for new classes).
    pub legacy_class_token: bool,
    /// A uid the class does not know may report (and so become a member).
    pub open_enrolment: bool,
    /// How often an admin reopened the class after it ended (each allows one more
    /// 1001/1002 pair).
    pub reopen_count: u32,
    /// When the class was imported from another ReplayDesk's bundle (unix ms): then it is
    /// a read-only record, never delivered, resent or reconciled. `None` for a class of
    /// this ReplayDesk.
    #[ts(type = "number | null")]
    #[serde(default)]
    pub imported_at: Option<i64>,
    /// The TRTC room the class is held in, as text (TRTC's numeric room 42 and string room
    /// "42" are one room). `null`: recordings find the class by its id.
    #[serde(default)]
    pub room_id: Option<String>,
    /// What ended the class when ReplayDesk did: `silence` (no heartbeat from anyone for
    /// `heartbeat.silence_end`). `null` when its teacher or an admin ended it.
    #[serde(default)]
    pub ended_by: Option<String>,
}

impl From<store::ClassRecord> for ClassRecord {
    fn from(r: store::ClassRecord) -> Self {
        let store::ClassRecord {
            class_id,
            group_id,
            teacher_uid,
            state,
            created_at,
            started_at,
            ended_at,
            legacy_class_token,
            open_enrolment,
            reopen_count,
            imported_at,
            room_id,
            ended_by,
        } = r;
        Self {
            class_id,
            group_id,
            teacher_uid,
            state: state.into(),
            created_at,
            started_at,
            ended_at,
            legacy_class_token,
            open_enrolment,
            reopen_count,
            imported_at,
            room_id,
            ended_by,
        }
    }
}

/// Back into a row: a bundle's class, to import.
impl From<ClassRecord> for store::ClassRecord {
    fn from(r: ClassRecord) -> Self {
        let ClassRecord {
            class_id,
            group_id,
            teacher_uid,
            state,
            created_at,
            started_at,
            ended_at,
            legacy_class_token,
            open_enrolment,
            reopen_count,
            imported_at,
            room_id,
            ended_by,
        } = r;
        Self {
            class_id,
            group_id,
            teacher_uid,
            state: state.into(),
            created_at,
            started_at,
            ended_at,
            legacy_class_token,
            open_enrolment,
            reopen_count,
            imported_at,
            room_id,
            ended_by,
        }
    }
}

/// One member of a class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Member {
    pub class_id: String,
    pub uid: String,
    pub role: MemberRole,
    /// First report (or class creation, for the teacher), unix ms.
    #[ts(type = "number")]
    pub first_seen_at: i64,
    /// Latest report, unix ms.
    #[ts(type = "number")]
    pub last_seen_at: i64,
}

impl From<store::Member> for Member {
    fn from(r: store::Member) -> Self {
        let store::Member {
            class_id,
            uid,
            role,
            first_seen_at,
            last_seen_at,
        } = r;
        Self {
            class_id,
            uid,
            role: role.into(),
            first_seen_at,
            last_seen_at,
        }
    }
}

/// Back into a row: a bundle's member, to import.
impl From<Member> for store::Member {
    fn from(r: Member) -> Self {
        let Member {
            class_id,
            uid,
            role,
            first_seen_at,
            last_seen_at,
        } = r;
        Self {
            class_id,
            uid,
            role: role.into(),
            first_seen_at,
            last_seen_at,
        }
    }
}

/// Where a member's report credential stands (never the credential itself: it is shown
/// once, when issued).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct CredentialInfo {
    /// The generation a credential must carry to be accepted: 0 is the one derived before
    /// issuing existed (the teacher's from class creation, the host app's); each issue adds 1.
    #[ts(type = "number")]
    pub generation: i64,
    /// When the current one was issued (unix ms); null if never issued from the roster.
    #[ts(type = "number | null")]
    pub issued_at: Option<i64>,
    /// When it was revoked (unix ms); while set, the member's reports are refused.
    #[ts(type = "number | null")]
    pub revoked_at: Option<i64>,
}

impl From<store::CredentialInfo> for CredentialInfo {
    fn from(r: store::CredentialInfo) -> Self {
        let store::CredentialInfo {
            generation,
            issued_at,
            revoked_at,
        } = r;
        Self {
            generation,
            issued_at,
            revoked_at,
        }
    }
}

/// A member on the class's roster, with its credential's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct RosterMember {
    #[serde(flatten)]
    #[ts(flatten)]
    pub member: Member,
    pub credential: CredentialInfo,
}

impl From<store::RosterMember> for RosterMember {
    fn from(r: store::RosterMember) -> Self {
        let store::RosterMember { member, credential } = r;
        Self {
            member: member.into(),
            credential: credential.into(),
        }
    }
}

/// What registering a roster did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct AddedMembers {
    pub class_id: String,
    /// Uids that became members (students), in the order given.
    pub added: Vec<String>,
    /// Uids that were members already (their role and credential unchanged).
    pub existing: Vec<String>,
}

impl From<store::AddedMembers> for AddedMembers {
    fn from(r: store::AddedMembers) -> Self {
        let store::AddedMembers {
            class_id,
            added,
            existing,
        } = r;
        Self {
            class_id,
            added,
            existing,
        }
    }
}
