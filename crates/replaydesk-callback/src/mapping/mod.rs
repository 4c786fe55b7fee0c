//! Which class and which user a recording belongs to (docs/protocol.md section 4).
//!
//! # What "room id" means here
//!
//! Stream ids name a *room*. In ReplayDesk a class has a `class_id` and a `group_id` (its
//! ReplayGroup), and may carry a TRTC **`room_id`** (issue 22): a room id names the newest
//! class whose `room_id` it is (compared as text), else the class whose **`class_id`** it
//! is. So, with no `room_id` set, the class created with
//! `class_id` `room42` and `group_id` `replay_room42` owns the streams
//! `<sdkappid>_room42_<uid>_main` and `<bizid>_md5(room42_<uid>_main)`, and is named by
//! `groupid=replay_room42` in a push URL's query string.
//!
//! # The rules, in order
//!
//! 0. **A registered stream id**: an admin registered the callback's stream id for a user
//!    of a class (`POST /v1/admin/classes/{class_id}/streams`). An explicit word beats
//!    every inference below.
//! 1. **`stream_param`** (the reference server's way). The push URL's query string is
//!    form-decoded (`%XX`, `+` as space); `groupid` (key matched case-insensitively, first
//!    occurrence) must be a class's `group_id`, and `userid` is the user id in base64
//!    (standard or URL-safe alphabet, padding optional; a `+` that arrived as a space is
//!    restored). The decoded id must be non-empty UTF-8 without control characters. If
//!    `userid` is not such base64 but is itself, as plain text, a member of the class, it is
//!    taken as it is; if both readings are possible the one that is a member wins. The user
//!    need not be a known member otherwise (a recording may arrive before any report).
//!    When `groupid` names a known class, that class is authoritative: rules 2 and 3 are
//!    then tried **only within it**, so a stream id naming another room does not match.
//! 2. **Stream id `<sdkappid>_<roomid>_<userid>_main`** (or `_aux`, a screen share). The
//!    stream id is `stream_id`, else `channel_id`. After removing the suffix and the
//!    leading all-digit sdkappid, the rest `<roomid>_<userid>` is split at each `_` in
//!    turn (room ids and user ids may contain `_` themselves). A split counts when its
//!    room names a known class; among those, the splits whose user is a member of that
//!    class win. Exactly one winner matches; several are ambiguous and match nothing.
//!    When no split's user is a member, a single split with a known room still matches.
//! 3. **Legacy `<bizid>_<md5hex(roomid_userid_main)>`**: `bizid` all digits, the hash 32
//!    hex digits (any case). Each candidate class's room id is hashed with each of its
//!    members, with both `_main` and `_aux`; exactly one (class, user) must match. Only
//!    known members can be found this way (the teacher is a member from the class's
//!    creation; students once they have reported). Underscores make the hashed text
//!    itself ambiguous (`room_43` + `a_b` and `room` + `43_a_b` hash alike); two such
//!    matches are reported as ambiguous, not guessed.
//!
//! A callback that no rule maps is [`Mapping::Unmatched`], with a reason listing what each
//! rule found; the server keeps it for an admin to assign.
//!
//! The classes and members come from a [`ClassDirectory`] (`directory.rs`); the stream
//! id's and query string's parts are read in `stream_id.rs`.

mod directory;
mod stream_id;

pub use directory::{ClassDirectory, ClassRef, ClassSnapshot};
pub use stream_id::{decode_userid, legacy_hash, stream_media, stream_room_and_user};

use super::parse::{parse_query, RecordingCallback};
use serde::Serialize;
use std::collections::HashMap;
use stream_id::{legacy_parts, param, room_and_user, uid_from_userid};

/// Which rule found the class and user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// A stream id an admin registered for the class and user.
    RegisteredStream,
    /// `groupid` and base64 `userid` in `stream_param`.
    StreamParam,
    /// `<sdkappid>_<roomid>_<userid>_main|aux`.
    StreamId,
    /// `<bizid>_<md5(roomid_userid_main|aux)>`, by hashing known members.
    LegacyHash,
}

impl MatchRule {
    /// `registered_stream`, `stream_param`, `stream_id` or `legacy_hash`.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchRule::RegisteredStream => "registered_stream",
            MatchRule::StreamParam => "stream_param",
            MatchRule::StreamId => "stream_id",
            MatchRule::LegacyHash => "legacy_hash",
        }
    }
}

impl std::fmt::Display for MatchRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of [`map_recording`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    Matched {
        class_id: String,
        uid: String,
        via: MatchRule,
    },
    /// No rule matched; `reason` says what each rule found, for the admin who assigns it.
    Unmatched { reason: String },
}

/// Maps a recording callback to a class and user by the rules in the module documentation,
/// tried in order; each rule that does not match says why in the unmatched reason.
/// Never panics, whatever the callback holds.
pub fn map_recording<D: ClassDirectory + ?Sized>(cb: &RecordingCallback, dir: &D) -> Mapping {
    let mut notes: Vec<String> = Vec::new();
    let mut members = MemberCache::default();

    // 0. a registered stream id
    if let Some((class, uid)) = cb.stream().and_then(|s| dir.registered_stream(s)) {
        return Mapping::Matched {
            class_id: class.class_id,
            uid,
            via: MatchRule::RegisteredStream,
        };
    }
    // 1. stream_param: a match, or the class it names (the next rules look only there)
    let only = match by_stream_param(cb, dir, &mut members, &mut notes) {
        ParamRule::Matched(m) => return m,
        ParamRule::Within(only) => only,
    };
    let Some(stream) = cb.stream() else {
        notes.push("no stream_id or channel_id".into());
        return unmatched(notes);
    };
    let within = Within(only);
    // 2. <sdkappid>_<roomid>_<userid>_main|aux
    if let Some(rest) = room_and_user(stream) {
        return by_stream_id(stream, rest, &within, dir, &mut members, notes);
    }
    // 3. <bizid>_<md5hex(roomid_userid_main|aux)>
    if let Some((bizid, hash)) = legacy_parts(stream) {
        return by_legacy_hash(stream, bizid, &hash, &within, dir, &mut members, notes);
    }
    notes.push(format!(
        "stream id {} has neither the <sdkappid>_<room>_<user>_main|aux nor the <bizid>_<md5> form",
        quoted(stream)
    ));
    unmatched(notes)
}

/// What rule 1 (`stream_param`) found: the user, or the class the later rules keep to.
enum ParamRule {
    Matched(Mapping),
    Within(Option<ClassRef>),
}

/// The class `stream_param` named, if any: the stream-id rules look only inside it.
struct Within(Option<ClassRef>);

impl Within {
    /// ` within class "c"` for the unmatched reason, or nothing.
    fn note(&self) -> String {
        self.0
            .as_ref()
            .map(|c| format!(" within class {}", quoted(&c.class_id)))
            .unwrap_or_default()
    }
}

/// Rule 1: `groupid` names the class by its ReplayGroup, `userid` the user (base64 of the
/// id, or a member's id as it is).
fn by_stream_param<D: ClassDirectory + ?Sized>(
    cb: &RecordingCallback,
    dir: &D,
    members: &mut MemberCache,
    notes: &mut Vec<String>,
) -> ParamRule {
    let params = cb
        .stream_param
        .as_deref()
        .map(parse_query)
        .unwrap_or_default();
    let Some(group) = param(&params, "groupid") else {
        notes.push(if cb.stream_param.is_none() {
            "no stream_param".into()
        } else {
            "stream_param has no groupid".into()
        });
        return ParamRule::Within(None);
    };
    let Some(class) = dir.class_by_group(group) else {
        notes.push(format!(
            "stream_param groupid {} is no known class's ReplayGroup",
            quoted(group)
        ));
        return ParamRule::Within(None);
    };
    let known = members.of(dir, &class.class_id);
    match param(&params, "userid") {
        None => notes.push(format!(
            "stream_param names class {} but has no userid",
            quoted(&class.class_id)
        )),
        Some(userid) => match uid_from_userid(userid, known) {
            Some(uid) => {
                return ParamRule::Matched(Mapping::Matched {
                    class_id: class.class_id,
                    uid,
                    via: MatchRule::StreamParam,
                })
            }
            None => notes.push(format!(
                "stream_param userid {} is neither base64 of a user id nor a member of class {}",
                quoted(userid),
                quoted(&class.class_id)
            )),
        },
    }
    ParamRule::Within(Some(class))
}

/// Rule 2: `<room>_<user>` after the app id, the room a class's `room_id` (or its id);
/// where the split is ambiguous, a member of the class wins.
fn by_stream_id<D: ClassDirectory + ?Sized>(
    stream: &str,
    rest: &str,
    within: &Within,
    dir: &D,
    members: &mut MemberCache,
    mut notes: Vec<String>,
) -> Mapping {
    let only = &within.0;
    let mut candidates: Vec<(String, String, bool)> = Vec::new();
    for (i, _) in rest.match_indices('_') {
        let (room, user) = (&rest[..i], &rest[i + 1..]);
        if room.is_empty() || user.is_empty() {
            continue;
        }
        let found = dir
            .class_by_room(room)
            .or_else(|| only.clone().filter(|c| c.class_id == room));
        let class_id = match (only, found) {
            (Some(o), Some(c)) if o.class_id == c.class_id => c.class_id,
            (Some(_), _) | (None, None) => continue,
            (None, Some(c)) => c.class_id,
        };
        let is_member = members.of(dir, &class_id).iter().any(|m| m == user);
        candidates.push((class_id, user.to_owned(), is_member));
    }
    let winners: Vec<&(String, String, bool)> = if candidates.iter().any(|c| c.2) {
        candidates.iter().filter(|c| c.2).collect()
    } else {
        candidates.iter().collect()
    };
    match winners.as_slice() {
        [(class_id, uid, _)] => {
            return Mapping::Matched {
                class_id: class_id.clone(),
                uid: uid.clone(),
                via: MatchRule::StreamId,
            }
        }
        [] => notes.push(format!(
            "stream id {} names no known room{}",
            quoted(stream),
            within.note()
        )),
        many => notes.push(format!(
            "stream id {} is ambiguous: {}",
            quoted(stream),
            many.iter()
                .map(|(c, u, _)| format!("class {} user {}", quoted(c), quoted(u)))
                .collect::<Vec<_>>()
                .join(" or ")
        )),
    }
    unmatched(notes)
}

/// Rule 3: the iLive-era `<bizid>_<md5hex(roomid_userid_main|aux)>`, tried against the
/// members of the candidate classes.
fn by_legacy_hash<D: ClassDirectory + ?Sized>(
    stream: &str,
    bizid: &str,
    hash: &str,
    within: &Within,
    dir: &D,
    members: &mut MemberCache,
    mut notes: Vec<String>,
) -> Mapping {
    let classes = match &within.0 {
        Some(c) => vec![c.clone()],
        None => dir.legacy_candidates(bizid),
    };
    let mut found: Vec<(String, String)> = Vec::new();
    for class in &classes {
        for uid in members.of(dir, &class.class_id) {
            for suffix in ["main", "aux"] {
                if legacy_hash(&class.class_id, uid, suffix) == hash
                    && !found.iter().any(|(c, u)| c == &class.class_id && u == uid)
                {
                    found.push((class.class_id.clone(), uid.clone()));
                }
            }
        }
    }
    match found.as_slice() {
        [(class_id, uid)] => {
            return Mapping::Matched {
                class_id: class_id.clone(),
                uid: uid.clone(),
                via: MatchRule::LegacyHash,
            }
        }
        [] => notes.push(format!(
            "legacy stream id {} matches no member of {} candidate class(es){}",
            quoted(stream),
            classes.len(),
            within.note()
        )),
        many => notes.push(format!(
            "legacy stream id {} matches several users: {}",
            quoted(stream),
            many.iter()
                .map(|(c, u)| format!("class {} user {}", quoted(c), quoted(u)))
                .collect::<Vec<_>>()
                .join(" or ")
        )),
    }
    unmatched(notes)
}

fn unmatched(notes: Vec<String>) -> Mapping {
    Mapping::Unmatched {
        reason: notes.join("; "),
    }
}

/// Members fetched once per class per mapping.
#[derive(Default)]
struct MemberCache(HashMap<String, Vec<String>>);

impl MemberCache {
    fn of<D: ClassDirectory + ?Sized>(&mut self, dir: &D, class_id: &str) -> &Vec<String> {
        self.0
            .entry(class_id.to_owned())
            .or_insert_with(|| dir.members(class_id))
    }
}

/// Quotes a value from the callback for a reason text, cut to a readable length.
fn quoted(s: &str) -> String {
    format!("{:?}", replaydesk_protocol::shortened(s, 80))
}

/// The classes a callback's mapping can reach (see [`candidate_keys`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CandidateKeys {
    /// The `groupid`s of its `stream_param`.
    pub groups: Vec<String>,
    /// Every room its `<sdkappid>_<room>_<user>_main|aux` stream id can name (a class's
    /// `room_id` or its `class_id`).
    pub rooms: Vec<String>,
    /// Its stream id, as an admin may have registered it.
    pub streams: Vec<String>,
    /// A legacy `<bizid>_<md5>` stream id: matched by hashing members, so any class may be
    /// the one, unless a `groupid` names a known class (the mapping then stays within it).
    pub legacy: bool,
}

/// The classes a callback's mapping can reach, so that only they are loaded (by index)
/// rather than every class and member ever stored.
pub fn candidate_keys(cb: &RecordingCallback) -> CandidateKeys {
    let groups = cb
        .stream_param
        .as_deref()
        .map(parse_query)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case("groupid"))
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    let rooms = cb
        .stream()
        .and_then(room_and_user)
        .map(|rest| {
            rest.match_indices('_')
                .map(|(i, _)| rest[..i].to_owned())
                .filter(|r| !r.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let legacy = cb.stream().is_some_and(|s| legacy_parts(s).is_some());
    let streams = cb.stream().map(str::to_owned).into_iter().collect();
    CandidateKeys {
        groups,
        rooms,
        streams,
        legacy,
    }
}

#[cfg(test)]
mod tests;
