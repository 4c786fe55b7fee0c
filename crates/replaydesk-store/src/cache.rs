//! In-process caches for the reporting path: every timeline report needs its class (group,
//! teacher, enrolment rule) and the class's credential key or token hash, and without a
//! cache that is two database reads per report before it is even queued.
//!
//! Correctness: every store function that changes a row of `classes` calls
//! [`ClassCache::invalidate`] after its commit; an entry remembers the generation it was
//! read under, so a read that raced with a change is never served afterwards. A change made
//! by another process on the same database (a second node) is seen within [`CLASS_TTL`].
//! A class that is not found is not cached: a class created meanwhile is seen at once.
//!
//! Members are never removed, so a uid once known to be a member stays one: that set needs
//! no invalidation.

use super::classes::ClassEntry;
use parking_lot::RwLock;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a cached class is trusted without a change seen in this process (a change made
/// by another process is seen within this).
pub const CLASS_TTL: Duration = Duration::from_secs(1);
/// Most classes cached; past it the cache starts over (a school has far fewer at once).
const MAX_CLASSES: usize = 10_000;
/// Most (class, uid) pairs remembered as members; past it the set starts over.
const MAX_MEMBERS: u64 = 1_000_000;

struct Cached {
    entry: Arc<ClassEntry>,
    generation: u64,
    loaded: Instant,
}

#[derive(Default)]
pub(crate) struct ClassCache {
    generation: AtomicU64,
    classes: RwLock<HashMap<String, Cached>>,
    /// class id → uids known to be members.
    members: RwLock<HashMap<String, HashSet<String>>>,
    member_count: AtomicU64,
}

impl std::fmt::Debug for ClassCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClassCache")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl ClassCache {
    /// The generation to tag a read with: take it before reading the database.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn get(&self, class_id: &str) -> Option<Arc<ClassEntry>> {
        let now = self.generation();
        let map = self.classes.read();
        map.get(class_id)
            .filter(|c| c.generation == now && c.loaded.elapsed() < CLASS_TTL)
            .map(|c| c.entry.clone())
    }

    /// Keeps `entry`, read from the database under `generation`; dropped if the classes
    /// changed since (the read may have seen the old row).
    pub(crate) fn put(&self, generation: u64, entry: Arc<ClassEntry>) {
        let mut map = self.classes.write();
        if self.generation() != generation {
            return;
        }
        if map.len() >= MAX_CLASSES {
            map.clear();
        }
        map.insert(
            entry.record.class_id.clone(),
            Cached {
                entry,
                generation,
                loaded: Instant::now(),
            },
        );
    }

    /// A class row changed (committed): nothing cached before is served again.
    pub(crate) fn invalidate(&self) {
        let mut map = self.classes.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.clear();
    }

    pub(crate) fn is_known_member(&self, class_id: &str, uid: &str) -> bool {
        // Nested maps: looked up with the borrowed strings, nothing allocated per report.
        let map = self.members.read();
        map.get(class_id).is_some_and(|uids| uids.contains(uid))
    }

    pub(crate) fn remember_members<'a>(&self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let mut map = self.members.write();
        for (c, u) in pairs {
            if self.member_count.load(Ordering::Relaxed) >= MAX_MEMBERS {
                map.clear();
                self.member_count.store(0, Ordering::Relaxed);
            }
            if map.get(c).is_some_and(|uids| uids.contains(u)) {
                continue;
            }
            map.entry(c.to_owned()).or_default().insert(u.to_owned());
            self.member_count.fetch_add(1, Ordering::Relaxed);
        }
    }
}
