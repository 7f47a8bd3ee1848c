//! The in-memory indexes of one node, kept fresh from the database.
//!
//! Before every search the node reads the searched groups' revisions (one indexed
//! query) and brings each cached index up to that revision from the change log, so a
//! face whose enrolment committed on any node before the search started is found: the
//! staleness bound is zero, at the price of that query per search.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use face_index::AnnBuilder;

use super::{FaceIndex, IndexConfig};
use crate::error::Result;
use crate::ids::{AccountId, FaceId, GroupId, PersonId};
use crate::store::{GroupState, Store};

/// Adds a stored face. The gallery refuses other dimensions at enrolment, so a skipped
/// one can only be a row from a different configuration.
fn insert(index: &mut FaceIndex, face: FaceId, person: PersonId, descriptor: &[f32]) {
    if descriptor.len() != index.dim() {
        tracing::warn!(face = %face, "descriptor of {} components skipped", descriptor.len());
        return;
    }
    index.insert(face, person, descriptor);
}

/// Which database state an index reflects.
#[derive(Debug, Clone, Copy, Default)]
struct Freshness {
    loaded: bool,
    incarnation: i64,
    revision: i64,
}

/// One group's index on this node.
pub(crate) struct GroupSlot {
    /// Held while the index is being brought up to date, so one refresh runs at a
    /// time per group and searches wait for it rather than load the same rows.
    freshness: tokio::sync::Mutex<Freshness>,
    pub(crate) index: RwLock<FaceIndex>,
    building: AtomicBool,
}

pub(crate) struct IndexCache {
    config: IndexConfig,
    dim: usize,
    groups: Mutex<HashMap<(AccountId, GroupId), Arc<GroupSlot>>>,
}

impl IndexCache {
    pub(crate) fn new(dim: usize, config: IndexConfig) -> Self {
        Self {
            config,
            dim,
            groups: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, account: &AccountId, group: &GroupId) -> Arc<GroupSlot> {
        let mut groups = self.groups.lock();
        groups
            .entry((account.clone(), group.clone()))
            .or_insert_with(|| {
                Arc::new(GroupSlot {
                    freshness: tokio::sync::Mutex::new(Freshness::default()),
                    index: RwLock::new(FaceIndex::new(self.dim, self.config)),
                    building: AtomicBool::new(false),
                })
            })
            .clone()
    }

    /// Forgets a group (it was deleted on this node; other nodes notice the new
    /// incarnation or the missing row).
    pub(crate) fn forget(&self, account: &AccountId, group: &GroupId) {
        self.groups.lock().remove(&(account.clone(), group.clone()));
    }

    /// The cached index of `group`, brought up to at least `state.revision`.
    pub(crate) async fn fresh(
        &self,
        store: &Store,
        account: &AccountId,
        state: &GroupState,
    ) -> Result<Arc<GroupSlot>> {
        let slot = self.slot(account, &state.group_id);
        let mut fresh = slot.freshness.lock().await;
        if !fresh.loaded || fresh.incarnation != state.incarnation {
            *fresh = self.reload(store, account, state, &slot).await?;
        } else if fresh.revision < state.revision {
            let changes = store
                .changes_since(account, &state.group_id, fresh.revision)
                .await?;
            let contiguous = changes.first().map(|c| c.revision) == Some(fresh.revision + 1);
            if !contiguous {
                // The log was pruned past us: start over.
                *fresh = self.reload(store, account, state, &slot).await?;
            } else {
                let persons: Vec<PersonId> = changes
                    .iter()
                    .map(|c| c.person_id.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let faces = store
                    .member_faces(account, &state.group_id, &persons)
                    .await?;
                {
                    let mut index = slot.index.write();
                    for p in &persons {
                        index.remove_person(p);
                    }
                    for f in faces {
                        insert(&mut index, f.face_id, f.person_id, f.descriptor.as_slice());
                    }
                    if index.needs_compaction() {
                        index.compact();
                    }
                }
                // The faces were read after the changes, so they are at least as new
                // as the last change read.
                fresh.revision = changes.last().map(|c| c.revision).unwrap_or(state.revision);
            }
        }
        drop(fresh);
        self.maybe_build_ann(&slot);
        Ok(slot)
    }

    async fn reload(
        &self,
        store: &Store,
        account: &AccountId,
        state: &GroupState,
        slot: &GroupSlot,
    ) -> Result<Freshness> {
        // The revision was read before the faces, so the faces are at least that new.
        let faces = store.group_faces(account, &state.group_id).await?;
        let mut index = FaceIndex::new(self.dim, self.config);
        index.reserve(faces.len());
        for f in faces {
            insert(&mut index, f.face_id, f.person_id, f.descriptor.as_slice());
        }
        *slot.index.write() = index;
        Ok(Freshness {
            loaded: true,
            incarnation: state.incarnation,
            revision: state.revision,
        })
    }

    /// Starts building an inverted file on a blocking thread when the group has grown
    /// large enough; searches scan exactly until it is installed.
    fn maybe_build_ann(&self, slot: &Arc<GroupSlot>) {
        if !slot.index.read().wants_ann() || slot.building.swap(true, Ordering::AcqRel) {
            return;
        }
        let slot = slot.clone();
        tokio::task::spawn_blocking(move || {
            let sample = AnnBuilder::sample(&slot.index.read());
            let mut builder = sample.train();
            loop {
                let batch = builder.next_batch(&slot.index.read());
                match batch {
                    None => break,
                    Some(b) if b.is_empty() => {
                        let installed = builder.install(&mut slot.index.write());
                        tracing::debug!(installed, "gallery inverted file built");
                        break;
                    }
                    Some(b) => builder.extend(&b),
                }
            }
            slot.building.store(false, Ordering::Release);
        });
    }

    /// Live faces and whether an inverted file is installed, for a cached group.
    pub(crate) fn stats(&self, account: &AccountId, group: &GroupId) -> Option<(usize, bool)> {
        let groups = self.groups.lock();
        let slot = groups.get(&(account.clone(), group.clone()))?;
        let index = slot.index.read();
        Some((index.len(), index.has_ann()))
    }
}
