//! Which class and which user a recording belongs to (docs/protocol.md section 4).
//!
//! # What "room id" means here
//!
//! Stream ids name a *room*. In ReplayDesk a class has a `class_id` and a `group_id` (its
//! ReplayGroup); the room id of a class is its **`class_id`**. So the class created with
//! `class_id` `room42` and `group_id` `replay_room42` owns the streams
//! `<sdkappid>_room42_<uid>_main` and `<bizid>_md5(room42_<uid>_main)`, and is named by
//! `groupid=replay_room42` in a push URL's query string.
//!
//! # The rules, in order
//!
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

use super::parse::{parse_query, RecordingCallback};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use md5::{Digest, Md5};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A class as the mapping needs it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassRef {
    /// Also the class's room id in stream ids.
    pub class_id: String,
    /// Its ReplayGroup.
    pub group_id: String,
}

/// The classes and members the mapping may match against, supplied by the caller.
///
/// Synchronous on purpose: the server either implements it over a snapshot it loads first
/// ([`ClassSnapshot`], two queries: classes and class members) or over anything else it
/// can answer without waiting. Each method is one simple query:
/// `classes WHERE group_id = ?`, `classes WHERE class_id = ?`,
/// `class_members WHERE class_id = ?`, and the classes to try for a legacy stream id.
pub trait ClassDirectory {
    /// The class whose ReplayGroup is `group_id`.
    fn class_by_group(&self, group_id: &str) -> Option<ClassRef>;
    /// The class whose room id (= `class_id`) is `room_id`.
    fn class_by_room(&self, room_id: &str) -> Option<ClassRef>;
    /// The user ids known in the class, teacher included.
    fn members(&self, class_id: &str) -> Vec<String>;
    /// The classes whose members a legacy stream id `<bizid>_<md5>` is hashed against.
    /// ReplayDesk does not record a class's bizid, so this is normally every class; an
    /// implementation may narrow it (by bizid, by age) when it knows better.
    fn legacy_candidates(&self, bizid: &str) -> Vec<ClassRef>;
}

/// An in-memory [`ClassDirectory`]: the server loads classes and members into it, then maps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassSnapshot {
    classes: BTreeMap<String, SnapshotClass>,
    by_group: HashMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct SnapshotClass {
    group_id: String,
    members: BTreeSet<String>,
}

impl ClassSnapshot {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a class. Its teacher must be added as a member too.
    pub fn add_class(&mut self, class_id: impl Into<String>, group_id: impl Into<String>) {
        let class_id = class_id.into();
        let group_id = group_id.into();
        if let Some(old) = self.classes.get(&class_id) {
            self.by_group.remove(&old.group_id);
        }
        self.by_group.insert(group_id.clone(), class_id.clone());
        let members = self
            .classes
            .remove(&class_id)
            .map(|c| c.members)
            .unwrap_or_default();
        self.classes
            .insert(class_id, SnapshotClass { group_id, members });
    }

    /// Adds a member; ignored when the class is unknown.
    pub fn add_member(&mut self, class_id: &str, uid: impl Into<String>) {
        if let Some(c) = self.classes.get_mut(class_id) {
            c.members.insert(uid.into());
        }
    }

    /// Builder form of [`ClassSnapshot::add_class`] plus its members.
    pub fn with_class<I, S>(mut self, class_id: &str, group_id: &str, members: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.add_class(class_id, group_id);
        for m in members {
            self.add_member(class_id, m);
        }
        self
    }

    fn class_ref(&self, class_id: &str) -> Option<ClassRef> {
        self.classes.get(class_id).map(|c| ClassRef {
            class_id: class_id.to_owned(),
            group_id: c.group_id.clone(),
        })
    }
}

impl ClassDirectory for ClassSnapshot {
    fn class_by_group(&self, group_id: &str) -> Option<ClassRef> {
        self.class_ref(self.by_group.get(group_id)?)
    }

    fn class_by_room(&self, room_id: &str) -> Option<ClassRef> {
        self.class_ref(room_id)
    }

    fn members(&self, class_id: &str) -> Vec<String> {
        self.classes
            .get(class_id)
            .map(|c| c.members.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn legacy_candidates(&self, _bizid: &str) -> Vec<ClassRef> {
        self.classes
            .iter()
            .map(|(id, c)| ClassRef {
                class_id: id.clone(),
                group_id: c.group_id.clone(),
            })
            .collect()
    }
}

/// Which rule found the class and user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// `groupid` and base64 `userid` in `stream_param`.
    StreamParam,
    /// `<sdkappid>_<roomid>_<userid>_main|aux`.
    StreamId,
    /// `<bizid>_<md5(roomid_userid_main|aux)>`, by hashing known members.
    LegacyHash,
}

impl MatchRule {
    /// `stream_param`, `stream_id` or `legacy_hash`.
    pub fn as_str(self) -> &'static str {
        match self {
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

/// Maps a recording callback to a class and user by the rules in the module documentation.
/// Never panics, whatever the callback holds.
pub fn map_recording<D: ClassDirectory + ?Sized>(cb: &RecordingCallback, dir: &D) -> Mapping {
    let mut notes: Vec<String> = Vec::new();
    let mut members = MemberCache::default();

    // 1. stream_param
    let params = cb
        .stream_param
        .as_deref()
        .map(parse_query)
        .unwrap_or_default();
    let mut only: Option<ClassRef> = None;
    match param(&params, "groupid") {
        None if cb.stream_param.is_none() => notes.push("no stream_param".into()),
        None => notes.push("stream_param has no groupid".into()),
        Some(group) => match dir.class_by_group(group) {
            None => notes.push(format!(
                "stream_param groupid {} is no known class's ReplayGroup",
                quoted(group)
            )),
            Some(class) => {
                let known = members.of(dir, &class.class_id);
                match param(&params, "userid") {
                    None => notes.push(format!(
                        "stream_param names class {} but has no userid",
                        quoted(&class.class_id)
                    )),
                    Some(userid) => match uid_from_userid(userid, known) {
                        Some(uid) => {
                            return Mapping::Matched {
                                class_id: class.class_id,
                                uid,
                                via: MatchRule::StreamParam,
                            }
                        }
                        None => notes.push(format!(
                            "stream_param userid {} is neither base64 of a user id nor a member of class {}",
                            quoted(userid),
                            quoted(&class.class_id)
                        )),
                    },
                }
                only = Some(class);
            }
        },
    }
    let within = only
        .as_ref()
        .map(|c| format!(" within class {}", quoted(&c.class_id)))
        .unwrap_or_default();

    let Some(stream) = cb.stream() else {
        notes.push("no stream_id or channel_id".into());
        return unmatched(notes);
    };

    // 2. <sdkappid>_<roomid>_<userid>_main|aux
    if let Some(rest) = room_and_user(stream) {
        let mut candidates: Vec<(String, String, bool)> = Vec::new();
        for (i, _) in rest.match_indices('_') {
            let (room, user) = (&rest[..i], &rest[i + 1..]);
            if room.is_empty() || user.is_empty() {
                continue;
            }
            let class_id = match &only {
                Some(c) if c.class_id == room => c.class_id.clone(),
                Some(_) => continue,
                None => match dir.class_by_room(room) {
                    Some(c) => c.class_id,
                    None => continue,
                },
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
                "stream id {} names no known room{within}",
                quoted(stream)
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
        return unmatched(notes);
    }

    // 3. <bizid>_<md5hex(roomid_userid_main|aux)>
    if let Some((bizid, hash)) = legacy_parts(stream) {
        let classes = match &only {
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
                "legacy stream id {} matches no member of {} candidate class(es){within}",
                quoted(stream),
                classes.len()
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
        return unmatched(notes);
    }

    notes.push(format!(
        "stream id {} has neither the <sdkappid>_<room>_<user>_main|aux nor the <bizid>_<md5> form",
        quoted(stream)
    ));
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
    /// Every room its `<sdkappid>_<room>_<user>_main|aux` stream id can name.
    pub rooms: Vec<String>,
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
    CandidateKeys {
        groups,
        rooms,
        legacy,
    }
}

/// `<sdkappid>_<rest>_main|aux` → `rest`.
fn room_and_user(stream: &str) -> Option<&str> {
    let body = stream
        .strip_suffix("_main")
        .or_else(|| stream.strip_suffix("_aux"))?;
    let (appid, rest) = body.split_once('_')?;
    if appid.is_empty() || !appid.bytes().all(|b| b.is_ascii_digit()) || rest.is_empty() {
        return None;
    }
    Some(rest)
}

/// `<bizid>_<32 hex>` → (bizid, lower-case hash).
fn legacy_parts(stream: &str) -> Option<(&str, String)> {
    let (bizid, hash) = stream.split_once('_')?;
    if bizid.is_empty()
        || !bizid.bytes().all(|b| b.is_ascii_digit())
        || hash.len() != 32
        || !hash.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    Some((bizid, hash.to_ascii_lowercase()))
}

/// Lower-case hex `md5(<room>_<uid>_<suffix>)`, the legacy stream id's hash.
pub fn legacy_hash(room_id: &str, uid: &str, suffix: &str) -> String {
    let mut h = Md5::new();
    h.update(room_id.as_bytes());
    h.update(b"_");
    h.update(uid.as_bytes());
    h.update(b"_");
    h.update(suffix.as_bytes());
    hex::encode(h.finalize())
}

/// The first value of `name` (ASCII case-insensitive), when it is not blank.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const B64_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const B64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// The user id a `userid` parameter (already form-decoded) carries: base64 of it, as the
/// reference server writes it. `None` when it is not base64 of usable text.
pub fn decode_userid(userid: &str) -> Option<String> {
    // A raw `+` in the query string was decoded as a space; base64 has no spaces.
    let s = userid.trim().replace(' ', "+");
    if s.is_empty() {
        return None;
    }
    let bytes = B64_STANDARD
        .decode(&s)
        .or_else(|_| B64_URL_SAFE.decode(&s))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    if text.is_empty() || text.chars().any(char::is_control) {
        return None;
    }
    Some(text)
}

/// Rule 1's choice of user id (see the module documentation).
fn uid_from_userid(userid: &str, members: &[String]) -> Option<String> {
    let decoded = decode_userid(userid);
    let is_member = |u: &str| members.iter().any(|m| m == u);
    match decoded {
        Some(d) if is_member(&d) => Some(d),
        _ if is_member(userid) => Some(userid.to_owned()),
        d => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cb(stream_id: &str, stream_param: Option<&str>) -> RecordingCallback {
        let mut v = json!({"t": 1, "sign": "x", "event_type": 100, "stream_id": stream_id});
        if let Some(p) = stream_param {
            v["stream_param"] = p.into();
        }
        RecordingCallback::from_value(v).unwrap()
    }

    fn dir() -> ClassSnapshot {
        ClassSnapshot::new()
            .with_class("room42", "replay_room42", ["teacher_li", "student_wang"])
            .with_class("room_43", "replay_room_43", ["a_b", "teacher_zhao"])
            .with_class("room", "replay_room", ["43_a_b"])
    }

    fn matched(class_id: &str, uid: &str, via: MatchRule) -> Mapping {
        Mapping::Matched {
            class_id: class_id.into(),
            uid: uid.into(),
            via,
        }
    }

    /// One value decoded as `parse_query` decodes it (the inputs below hold no `&` or `=`).
    fn form_decode(s: &str) -> String {
        parse_query(&format!("v={s}")).remove(0).1
    }

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("dGVhY2hlcl9saQ%3D%3D"), "dGVhY2hlcl9saQ==");
        assert_eq!(form_decode("a+b%2Bc%zz%4"), "a b+c%zz%4");
        assert_eq!(form_decode("%E6%9D%8E"), "李");
        assert_eq!(form_decode("%ff"), "\u{fffd}");
        assert_eq!(
            parse_query("?a=1&&b&c=x=y"),
            [
                ("a".into(), "1".into()),
                ("b".into(), "".into()),
                ("c".into(), "x=y".into())
            ]
        );
    }

    #[test]
    fn userid_decoding() {
        assert_eq!(
            decode_userid("dGVhY2hlcl9saQ==").as_deref(),
            Some("teacher_li")
        );
        assert_eq!(
            decode_userid("dGVhY2hlcl9saQ").as_deref(),
            Some("teacher_li")
        );
        // "李" is 5p2O in base64.
        assert_eq!(decode_userid("5p2O").as_deref(), Some("李"));
        // base64 of ">>>?" uses '+' and '/', and '+' may have been read as a space.
        let b = B64_STANDARD.encode(">>>?");
        assert!(b.contains('+') || b.contains('/'), "{b}");
        assert_eq!(decode_userid(&b.replace('+', " ")).as_deref(), Some(">>>?"));
        assert_eq!(decode_userid(""), None);
        assert_eq!(decode_userid("!!"), None);
        assert_eq!(decode_userid("AA=="), None, "a NUL byte is no user id");
    }

    #[test]
    fn plain_userid_that_is_a_member_is_taken_as_is() {
        let d = dir();
        let m = map_recording(
            &cb("x", Some("groupid=replay_room42&userid=student_wang")),
            &d,
        );
        assert_eq!(m, matched("room42", "student_wang", MatchRule::StreamParam));
    }

    #[test]
    fn stream_param_rule() {
        let d = dir();
        let m = map_recording(
            &cb(
                "whatever",
                Some("GroupId=replay_room42&userid=dGVhY2hlcl9saQ%3D%3D"),
            ),
            &d,
        );
        assert_eq!(m, matched("room42", "teacher_li", MatchRule::StreamParam));
        // A user not (yet) a member is still the stream_param's user.
        let m = map_recording(
            &cb("x", Some("groupid=replay_room42&userid=bmV3Y29tZXI=")),
            &d,
        );
        assert_eq!(m, matched("room42", "newcomer", MatchRule::StreamParam));
    }

    #[test]
    fn stream_id_rule_with_underscores() {
        let d = dir();
        assert_eq!(
            map_recording(&cb("1400000001_room42_teacher_li_main", None), &d),
            matched("room42", "teacher_li", MatchRule::StreamId)
        );
        assert_eq!(
            map_recording(&cb("1400000001_room42_student_wang_aux", None), &d),
            matched("room42", "student_wang", MatchRule::StreamId)
        );
        // "room_43" + "a_b" or "room" + "43_a_b": both rooms exist and both users are
        // members, so it is ambiguous.
        let m = map_recording(&cb("1_room_43_a_b_main", None), &d);
        let Mapping::Unmatched { reason } = m else {
            panic!("{m:?}")
        };
        assert!(reason.contains("ambiguous"), "{reason}");
        // The groupid resolves it.
        assert_eq!(
            map_recording(
                &cb("1_room_43_a_b_main", Some("groupid=replay_room_43")),
                &d
            ),
            matched("room_43", "a_b", MatchRule::StreamId)
        );
        // Only one split names a member: it wins over the other split's non-member.
        assert_eq!(
            map_recording(&cb("1_room_43_teacher_zhao_main", None), &d),
            matched("room_43", "teacher_zhao", MatchRule::StreamId)
        );
        // One known room, user not a member yet: still matched.
        assert_eq!(
            map_recording(&cb("1_room42_newcomer_main", None), &d),
            matched("room42", "newcomer", MatchRule::StreamId)
        );
        // groupid names another class than the stream id: nothing.
        let m = map_recording(
            &cb("1_room42_teacher_li_main", Some("groupid=replay_room_43")),
            &d,
        );
        assert!(matches!(m, Mapping::Unmatched { .. }), "{m:?}");
        for s in [
            "room42_teacher_li_main",
            "x1_room42_teacher_li_main",
            "1_room42_main",
            "1__main",
        ] {
            assert!(
                matches!(map_recording(&cb(s, None), &d), Mapping::Unmatched { .. }),
                "{s}"
            );
        }
    }

    #[test]
    fn legacy_rule() {
        let d = dir();
        let h = legacy_hash("room42", "student_wang", "main");
        assert_eq!(h, "73907c6a69e2e3368821714129e8c785");
        assert_eq!(
            map_recording(&cb(&format!("8899_{}", h.to_uppercase()), None), &d),
            matched("room42", "student_wang", MatchRule::LegacyHash)
        );
        let aux = legacy_hash("room_43", "teacher_zhao", "aux");
        assert_eq!(
            map_recording(&cb(&format!("8899_{aux}"), None), &d),
            matched("room_43", "teacher_zhao", MatchRule::LegacyHash)
        );
        // "room_43" + "a_b" and "room" + "43_a_b" hash the same text: ambiguous, unless
        // the groupid says which class.
        let both = format!("8899_{}", legacy_hash("room_43", "a_b", "aux"));
        let m = map_recording(&cb(&both, None), &d);
        let Mapping::Unmatched { reason } = m else {
            panic!("{m:?}")
        };
        assert!(reason.contains("several users"), "{reason}");
        assert_eq!(
            map_recording(&cb(&both, Some("groupid=replay_room")), &d),
            matched("room", "43_a_b", MatchRule::LegacyHash)
        );
        // Restricted to the groupid's class.
        let m = map_recording(
            &cb(&format!("8899_{h}"), Some("groupid=replay_room_43")),
            &d,
        );
        assert!(matches!(m, Mapping::Unmatched { .. }), "{m:?}");
        let m = map_recording(
            &cb(
                &format!("8899_{}", legacy_hash("room42", "ghost", "main")),
                None,
            ),
            &d,
        );
        let Mapping::Unmatched { reason } = m else {
            panic!("{m:?}")
        };
        assert!(reason.contains("3 candidate class"), "{reason}");
    }

    #[test]
    fn unmatched_reasons_tell_what_was_tried() {
        let d = dir();
        let m = map_recording(&cb("live_stream", Some("groupid=nope&userid=eA==")), &d);
        let Mapping::Unmatched { reason } = m else {
            panic!("{m:?}")
        };
        assert!(reason.contains("\"nope\""), "{reason}");
        assert!(reason.contains("neither"), "{reason}");
        let no_stream = RecordingCallback::from_value(json!({"t": 1, "sign": "x"})).unwrap();
        let Mapping::Unmatched { reason } = map_recording(&no_stream, &d) else {
            panic!()
        };
        assert_eq!(reason, "no stream_param; no stream_id or channel_id");
    }

    #[test]
    fn snapshot_replacing_a_class_moves_its_group() {
        let mut s = ClassSnapshot::new().with_class("c", "g1", ["u"]);
        s.add_class("c", "g2");
        assert_eq!(s.class_by_group("g1"), None);
        assert_eq!(s.class_by_group("g2").unwrap().class_id, "c");
        assert_eq!(s.members("c"), ["u"]);
        s.add_member("missing", "x");
        assert!(s.members("missing").is_empty());
    }
}
