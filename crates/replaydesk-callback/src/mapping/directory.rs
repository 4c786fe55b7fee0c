//! The classes and members a callback is mapped against: what the mapping asks of the
//! caller ([`ClassDirectory`]), and the in-memory answer the server loads first
//! ([`ClassSnapshot`]).

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
    /// The class held in TRTC room `room_id` (compared as text): the newest class whose
    /// `room_id` it is, else the class whose id it is.
    fn class_by_room(&self, room_id: &str) -> Option<ClassRef>;
    /// The class and user a stream id was registered for (the newest registration).
    fn registered_stream(&self, _stream_id: &str) -> Option<(ClassRef, String)> {
        None
    }
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
    /// room id → (created_at, class id) of the newest class in that room.
    by_room: HashMap<String, (i64, String)>,
    /// stream id → (created_at, class id, uid) of the newest registration.
    streams: HashMap<String, (i64, String, String)>,
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

    /// Records that a class is held in TRTC room `room_id`; of several classes in one room,
    /// the newest (`created_at`, unix ms) is the one a callback maps to.
    pub fn set_room(&mut self, class_id: &str, room_id: impl Into<String>, created_at: i64) {
        let room_id = room_id.into();
        let newer = self
            .by_room
            .get(&room_id)
            .is_none_or(|(at, id)| (created_at, class_id) > (*at, id.as_str()));
        if newer {
            self.by_room
                .insert(room_id, (created_at, class_id.to_owned()));
        }
    }

    /// Records a stream id registered for `uid` in a class; of several registrations of
    /// one stream id, the newest wins.
    pub fn add_stream(
        &mut self,
        class_id: &str,
        stream_id: impl Into<String>,
        uid: impl Into<String>,
        created_at: i64,
    ) {
        let stream_id = stream_id.into();
        let newer = self
            .streams
            .get(&stream_id)
            .is_none_or(|(at, id, _)| (created_at, class_id) > (*at, id.as_str()));
        if newer {
            self.streams
                .insert(stream_id, (created_at, class_id.to_owned(), uid.into()));
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
        match self.by_room.get(room_id) {
            Some((_, class_id)) => self.class_ref(class_id),
            None => self.class_ref(room_id),
        }
    }

    fn registered_stream(&self, stream_id: &str) -> Option<(ClassRef, String)> {
        let (_, class_id, uid) = self.streams.get(stream_id)?;
        Some((self.class_ref(class_id)?, uid.clone()))
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
