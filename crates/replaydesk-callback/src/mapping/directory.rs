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
