//! The default LFIB: what to do with a label on top of the stack, over the whole 20-bit
//! label space.
//!
//! The control side edits an [`LfibBuilder`] (an ordered map, label -> [`LfibAction`]) and
//! [`LfibBuilder::freeze`]s it into an [`Lfib`], immutable and shared read-only by the
//! workers. The frozen table has a flat index over the label space in two forms (see
//! `FlatTable`):
//!
//! - for the data path, one `u32` per label (4 MiB) that holds a single-label swap or a pop
//!   outright: the outgoing label and an index into a small array of distinct adjacency
//!   sets (a swap block of a million labels towards one ECMP set shares one). A swap or
//!   PHP lookup is one read of a table too big for L2, then data that stays in L1; push,
//!   ECMP over paths with different labels, pop-and-lookup and anycast entries hold an
//!   index into an arena of entries pointing into an arena of [`NextHop`]s;
//! - for [`Lfib::lookup`] and the control side, an index into that arena for every entry,
//!   which the data path never reads.
//!
//! [`Lfib::prefetch`] starts the one cache miss of a lookup a few packets ahead.

use std::collections::BTreeMap;
use std::fmt;

use dpdk_sys::mem::HugeArray;

use crate::adjacency::Adjacency;

use super::vlfib::VlfibId;
use super::{
    reserved, TableError, FIRST_UNRESERVED_LABEL, LABEL_SPACE, MAX_ECMP_PATHS, MAX_LABEL,
    MAX_OUT_LABELS,
};

/// One path of a forwarding entry: the adjacency to send on and the labels written in place
/// of the label looked up.
///
/// No label is a pop (penultimate-hop popping), one a swap, several a push of a label stack
/// (the first one outermost): VPP's "path with an out-label stack".
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NextHop {
    adjacency: Adjacency,
    n_labels: u8,
    labels: [u32; MAX_OUT_LABELS],
}

impl fmt::Debug for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextHop")
            .field("port", &self.adjacency.port)
            .field("out_labels", &self.out_labels())
            .finish()
    }
}

impl NextHop {
    /// Pop the label and send on `adjacency` (PHP).
    pub fn pop(adjacency: Adjacency) -> Self {
        NextHop {
            adjacency,
            n_labels: 0,
            labels: [0; MAX_OUT_LABELS],
        }
    }

    /// Swap the label for `label` and send on `adjacency`.
    pub fn swap(adjacency: Adjacency, label: u32) -> Result<Self, TableError> {
        Self::push(adjacency, &[label])
    }

    /// Replace the label with `labels` (the first outermost) and send on `adjacency`. An
    /// empty slice is a pop. Labels must fit 20 bits and must not be implicit null (3).
    pub fn push(adjacency: Adjacency, labels: &[u32]) -> Result<Self, TableError> {
        if labels.len() > MAX_OUT_LABELS {
            return Err(TableError::TooManyOutLabels(labels.len()));
        }
        let mut out = [0u32; MAX_OUT_LABELS];
        for (slot, &label) in out.iter_mut().zip(labels) {
            if label > MAX_LABEL {
                return Err(TableError::LabelOutOfRange(label));
            }
            if label == reserved::IMPLICIT_NULL {
                return Err(TableError::ImplicitNullOutLabel);
            }
            *slot = label;
        }
        Ok(NextHop {
            adjacency,
            n_labels: labels.len() as u8,
            labels: out,
        })
    }

    /// The adjacency the packet leaves on.
    #[inline]
    pub fn adjacency(&self) -> &Adjacency {
        &self.adjacency
    }

    /// The labels written in place of the label looked up, outermost first (empty: pop).
    #[inline]
    pub fn out_labels(&self) -> &[u32] {
        self.labels.get(..self.n_labels as usize).unwrap_or(&[])
    }
}

/// What an LFIB entry does with its label (control-side form).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LfibAction {
    /// Replace the label by each next hop's out labels (swap, pop or push) and send on its
    /// adjacency; with several next hops (ECMP), the one at `flow_hash % n`.
    Forward(Vec<NextHop>),
    /// Pop the label; if it was the bottom of the stack deliver the payload locally,
    /// otherwise look up the next label in the same LFIB (e.g. this node's own node SID).
    PopAndLookup,
    /// This node's own anycast segment label: pop it; if it was the bottom deliver the
    /// payload locally, otherwise look the next label (a SID index) up in the V-LFIB
    /// (draft section 3.5).
    Anycast(VlfibId),
}

impl LfibAction {
    /// Swap to `label`, send on `adjacency`.
    pub fn swap(adjacency: Adjacency, label: u32) -> Result<Self, TableError> {
        Ok(LfibAction::Forward(vec![NextHop::swap(adjacency, label)?]))
    }

    /// Pop (PHP), send on `adjacency`.
    pub fn pop(adjacency: Adjacency) -> Self {
        LfibAction::Forward(vec![NextHop::pop(adjacency)])
    }

    /// Replace the label with `labels` (outermost first), send on `adjacency`.
    pub fn push(adjacency: Adjacency, labels: &[u32]) -> Result<Self, TableError> {
        Ok(LfibAction::Forward(vec![NextHop::push(adjacency, labels)?]))
    }

    /// ECMP over `paths` (checked: 1..=[`MAX_ECMP_PATHS`] next hops).
    pub fn ecmp(paths: Vec<NextHop>) -> Result<Self, TableError> {
        check_paths(&paths)?;
        Ok(LfibAction::Forward(paths))
    }
}

pub(super) fn check_paths(paths: &[NextHop]) -> Result<(), TableError> {
    if paths.is_empty() {
        return Err(TableError::EmptyEcmp);
    }
    if paths.len() > MAX_ECMP_PATHS {
        return Err(TableError::TooManyPaths(paths.len()));
    }
    Ok(())
}

/// What a frozen table holds for a key (borrowed from the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LfibEntry<'a> {
    /// Forward over one of these next hops (never empty).
    Forward(&'a [NextHop]),
    /// Pop and look up the next label.
    PopAndLookup,
    /// Own anycast segment: pop, then V-LFIB lookup.
    Anycast(VlfibId),
}

impl LfibEntry<'_> {
    /// The control-side form of this entry.
    pub fn to_action(&self) -> LfibAction {
        match *self {
            LfibEntry::Forward(paths) => LfibAction::Forward(paths.to_vec()),
            LfibEntry::PopAndLookup => LfibAction::PopAndLookup,
            LfibEntry::Anycast(id) => LfibAction::Anycast(id),
        }
    }
}

/// An entry of a frozen table's arena.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Forward { first: u32, count: u32 },
    PopAndLookup,
    Anycast(VlfibId),
}

/// What the data path gets for a key: the [`LfibEntry`] in the form cheapest to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route<'t> {
    /// Every path writes the same outgoing label (`Some`: swap) or none (`None`: pop) and
    /// sends on one of `adjacencies` (ECMP when several; never empty). Decoded from the
    /// fast entry alone plus the small, hot array of adjacency sets.
    Uniform {
        /// The outgoing label of every path, or `None` for a pop.
        label: Option<u32>,
        /// One adjacency per path, in path order.
        adjacencies: &'t [Adjacency],
    },
    /// Forward over one of these next hops (push, or paths with different labels).
    Paths(&'t [NextHop]),
    /// Pop and look up the next label.
    PopAndLookup,
    /// Own anycast segment: pop, then V-LFIB lookup.
    Anycast(VlfibId),
}

/// The fast index: one `u32` per key, the two top bits saying how to read the rest.
mod fast {
    /// Bits 29..0: an index into the slot arena (0: no entry).
    pub(super) const SLOT: u32 = 0;
    /// Bits 29..20: adjacency set; bits 19..0: the outgoing label.
    pub(super) const SWAP: u32 = 1;
    /// Bits 29..20: adjacency set.
    pub(super) const POP: u32 = 2;
    /// Where the kind starts.
    pub(super) const KIND_SHIFT: u32 = 30;
    /// Where the adjacency set starts.
    pub(super) const SET_SHIFT: u32 = 20;
    /// Mask of the 30 bits under the kind.
    pub(super) const REST: u32 = (1 << KIND_SHIFT) - 1;
    /// Adjacency sets a fast entry can name; entries beyond take the slot arena.
    pub(super) const MAX_SETS: usize = 1 << (KIND_SHIFT - SET_SHIFT);
}

/// A frozen direct-indexed table in two forms, shared by [`Lfib`] and the V-LFIB.
///
/// - The data path reads `fast[key]`, one `u32` (4 MiB over the label space, the only
///   cache miss of a lookup): a single-label swap or a pop whose paths differ only by
///   adjacency (every swap block, every PHP entry, with or without ECMP) is encoded there
///   in full (outgoing label + an index into `sets`, a few distinct adjacency sets shared
///   by every label that uses them, small enough to stay in L1/L2). Anything else (push,
///   ECMP paths with different labels, pop-and-lookup, anycast, or more than
///   [`fast::MAX_SETS`] distinct adjacency sets) holds an index into `slots`, whose
///   `Forward` entries point into `paths`.
/// - The control side ([`FlatTable::get`], [`FlatTable::iter`]) reads `index[key]`, an
///   index into `slots` for every entry (0 = none), which gives back the [`NextHop`]s of
///   every entry. The data path never touches it.
#[derive(Clone)]
pub(super) struct FlatTable {
    fast: HugeArray<u32>,
    index: HugeArray<u32>,
    slots: Box<[Slot]>,
    paths: Box<[NextHop]>,
    /// `(first, count)` into `adjacencies`, per adjacency set.
    sets: Box<[(u32, u32)]>,
    adjacencies: Box<[Adjacency]>,
}

/// The label every path writes (`Some(None)`: all pop, `Some(Some(l))`: all swap to `l`),
/// if the paths agree and write at most one label.
fn uniform_label(hops: &[NextHop]) -> Option<Option<u32>> {
    let first = hops.first()?.out_labels();
    if first.len() > 1 || hops.iter().any(|h| h.out_labels() != first) {
        return None;
    }
    Some(first.first().copied())
}

/// Builds the deduplicated adjacency sets of a [`FlatTable`].
#[derive(Default)]
struct SetBuilder {
    ids: std::collections::HashMap<Vec<Adjacency>, u32>,
    sets: Vec<(u32, u32)>,
    adjacencies: Vec<Adjacency>,
    scratch: Vec<Adjacency>,
    /// The set of the previous call (consecutive labels usually share theirs).
    last: Option<u32>,
}

impl SetBuilder {
    /// The id of the set of `hops`' adjacencies (in order), if at most
    /// [`fast::MAX_SETS`] sets exist.
    fn id(&mut self, hops: &[NextHop]) -> Option<u32> {
        self.scratch.clear();
        self.scratch.extend(hops.iter().map(|h| h.adjacency));
        if let Some(last) = self.last {
            let (first, count) = self.sets[last as usize];
            if self.adjacencies[first as usize..(first + count) as usize] == self.scratch[..] {
                return Some(last);
            }
        }
        let id = match self.ids.get(self.scratch.as_slice()) {
            Some(&id) => id,
            None if self.sets.len() < fast::MAX_SETS => {
                let id = self.sets.len() as u32;
                self.sets
                    .push((self.adjacencies.len() as u32, self.scratch.len() as u32));
                self.adjacencies.extend_from_slice(&self.scratch);
                self.ids.insert(self.scratch.clone(), id);
                id
            }
            None => return None,
        };
        self.last = Some(id);
        Some(id)
    }
}

/// `size` zeroed words on transparent huge pages where the kernel allows
/// ([`HugeArray`]): a random label lookup in a 1M-label table then costs no page walk over
/// 4 KiB pages (on a VM, a two-dimensional one), also for the first packets a worker sends
/// through a freshly published table; a replaced table's arrays are recycled, not unmapped.
fn zeroed_huge(size: usize) -> HugeArray<u32> {
    HugeArray::filled(size, 0)
}

impl FlatTable {
    /// Builds a table of `size` keys from `(key, action)` pairs with `key < size`
    /// (guaranteed by the builders; others are skipped).
    pub(super) fn build<'a>(
        size: usize,
        items: impl Iterator<Item = (u32, &'a LfibAction)>,
    ) -> Self {
        let mut index = zeroed_huge(size);
        let mut fast = zeroed_huge(size);
        // slots[0] is never reached: index 0 means "no entry".
        let mut slots = vec![Slot::PopAndLookup];
        let mut paths = Vec::new();
        let mut sets = SetBuilder::default();
        for (key, action) in items {
            let (Some(cell), Some(fast_cell)) =
                (index.get_mut(key as usize), fast.get_mut(key as usize))
            else {
                continue;
            };
            let at = slots.len() as u32;
            let (slot, compact) = match action {
                LfibAction::Forward(hops) => {
                    let first = paths.len() as u32;
                    paths.extend_from_slice(hops);
                    let compact = uniform_label(hops).and_then(|label| {
                        let set = sets.id(hops)? << fast::SET_SHIFT;
                        Some(match label {
                            Some(label) => (fast::SWAP << fast::KIND_SHIFT) | set | label,
                            None => (fast::POP << fast::KIND_SHIFT) | set,
                        })
                    });
                    let slot = Slot::Forward {
                        first,
                        count: hops.len() as u32,
                    };
                    (slot, compact)
                }
                LfibAction::PopAndLookup => (Slot::PopAndLookup, None),
                LfibAction::Anycast(id) => (Slot::Anycast(*id), None),
            };
            *cell = at;
            *fast_cell = compact.unwrap_or(at);
            slots.push(slot);
        }
        FlatTable {
            fast,
            index,
            slots: slots.into_boxed_slice(),
            paths: paths.into_boxed_slice(),
            sets: sets.sets.into_boxed_slice(),
            adjacencies: sets.adjacencies.into_boxed_slice(),
        }
    }

    /// The arena entry at `at` (0: none).
    #[inline]
    fn slot(&self, at: u32) -> Option<LfibEntry<'_>> {
        if at == 0 {
            return None;
        }
        Some(match *self.slots.get(at as usize)? {
            Slot::Forward { first, count } => {
                let first = first as usize;
                LfibEntry::Forward(self.paths.get(first..first + count as usize)?)
            }
            Slot::PopAndLookup => LfibEntry::PopAndLookup,
            Slot::Anycast(id) => LfibEntry::Anycast(id),
        })
    }

    /// The entry of `key` (control side).
    #[inline]
    pub(super) fn get(&self, key: u32) -> Option<LfibEntry<'_>> {
        self.slot(*self.index.get(key as usize)?)
    }

    /// The outgoing label and the adjacency of `key` when its entry is a plain swap on a
    /// single adjacency (no ECMP choice to make), for [`super::forward::swap_fast`].
    #[inline]
    pub(super) fn single_swap(&self, key: u32) -> Option<(u32, &Adjacency)> {
        let e = *self.fast.get(key as usize)?;
        if e >> fast::KIND_SHIFT != fast::SWAP {
            return None;
        }
        let rest = e & fast::REST;
        match *self.sets.get((rest >> fast::SET_SHIFT) as usize)? {
            (first, 1) => Some((rest & MAX_LABEL, self.adjacencies.get(first as usize)?)),
            _ => None,
        }
    }

    /// The entry of `key` for the data path: one read of the fast index, then only hot
    /// data for a uniform swap or pop.
    #[inline]
    pub(super) fn route(&self, key: u32) -> Option<Route<'_>> {
        let e = *self.fast.get(key as usize)?;
        let rest = e & fast::REST;
        let set = |rest: u32| {
            let (first, count) = *self.sets.get((rest >> fast::SET_SHIFT) as usize)?;
            let first = first as usize;
            self.adjacencies.get(first..first + count as usize)
        };
        match e >> fast::KIND_SHIFT {
            fast::SWAP => Some(Route::Uniform {
                label: Some(rest & MAX_LABEL),
                adjacencies: set(rest)?,
            }),
            fast::POP => Some(Route::Uniform {
                label: None,
                adjacencies: set(rest)?,
            }),
            fast::SLOT => Some(match self.slot(rest)? {
                LfibEntry::Forward(paths) => Route::Paths(paths),
                LfibEntry::PopAndLookup => Route::PopAndLookup,
                LfibEntry::Anycast(id) => Route::Anycast(id),
            }),
            _ => None,
        }
    }

    /// Hints the CPU to fetch the fast entry of `key` (no-op beyond the table).
    #[inline]
    pub(super) fn prefetch(&self, key: u32) {
        if let Some(e) = self.fast.get(key as usize) {
            dpdk_sys::prefetch::prefetch_read(e);
        }
    }

    /// Number of entries.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.slots.len() - 1
    }

    /// Number of keys the table indexes.
    #[cfg(test)]
    pub(super) fn key_space(&self) -> usize {
        self.index.len()
    }

    /// Every `(key, entry)`, in key order (control side: walks the whole index).
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, LfibEntry<'_>)> + '_ {
        self.index
            .iter()
            .enumerate()
            .filter(|(_, &at)| at != 0)
            .filter_map(|(key, _)| Some((key as u32, self.get(key as u32)?)))
    }
}

impl fmt::Debug for FlatTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlatTable")
            .field("keys", &self.index.len())
            .field("entries", &self.len())
            .field("next_hops", &self.paths.len())
            .field("adjacency_sets", &self.sets.len())
            .finish()
    }
}

/// The control-side form of the LFIB: an ordered map from label to action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LfibBuilder {
    entries: BTreeMap<u32, LfibAction>,
}

impl LfibBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the action of `label` (16..=2^20-1), returning the one it replaces. A
    /// `Forward` action needs 1..=[`MAX_ECMP_PATHS`] next hops.
    pub fn insert(
        &mut self,
        label: u32,
        action: LfibAction,
    ) -> Result<Option<LfibAction>, TableError> {
        if label > MAX_LABEL {
            return Err(TableError::LabelOutOfRange(label));
        }
        if label < FIRST_UNRESERVED_LABEL {
            return Err(TableError::ReservedLabel(label));
        }
        if let LfibAction::Forward(paths) = &action {
            check_paths(paths)?;
        }
        Ok(self.entries.insert(label, action))
    }

    /// Removes the entry of `label`, returning it.
    pub fn remove(&mut self, label: u32) -> Option<LfibAction> {
        self.entries.remove(&label)
    }

    /// The action of `label`.
    pub fn get(&self, label: u32) -> Option<&LfibAction> {
        self.entries.get(&label)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True without entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every `(label, action)`, in label order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &LfibAction)> + '_ {
        self.entries.iter().map(|(l, a)| (*l, a))
    }

    /// The frozen, flat form (allocates the 4 MiB index).
    pub fn freeze(&self) -> Lfib {
        // Indexed up to the highest label present: an empty LFIB (a node without MPLS)
        // costs nothing per publication, a small one stays in cache; labels beyond the
        // table have no entry, exactly as unset ones inside it.
        let size = self
            .entries
            .keys()
            .next_back()
            .map_or(0, |max| (*max as usize + 1).min(LABEL_SPACE));
        Lfib {
            table: FlatTable::build(size, self.iter()),
        }
    }
}

/// The frozen LFIB: O(1) lookup by label over the whole label space.
#[derive(Debug, Clone)]
pub struct Lfib {
    table: FlatTable,
}

impl Default for Lfib {
    fn default() -> Self {
        Self::empty()
    }
}

impl Lfib {
    /// A new, empty builder.
    pub fn builder() -> LfibBuilder {
        LfibBuilder::new()
    }

    /// An LFIB without entries.
    pub fn empty() -> Self {
        LfibBuilder::new().freeze()
    }

    /// The entry of `label` (labels 0-15 and beyond 20 bits never have one).
    #[inline]
    pub fn lookup(&self, label: u32) -> Option<LfibEntry<'_>> {
        self.table.get(label)
    }

    /// The entry of `label` in the form the data path reads (one cache miss for a swap or
    /// pop whose paths differ only by adjacency).
    #[inline]
    pub(crate) fn route(&self, label: u32) -> Option<Route<'_>> {
        self.table.route(label)
    }

    /// `(outgoing label, adjacency)` when the entry of `label` is a swap on one adjacency.
    #[inline]
    pub(crate) fn single_swap(&self, label: u32) -> Option<(u32, &Adjacency)> {
        self.table.single_swap(label)
    }

    /// Hints the CPU to fetch what [`Lfib::lookup`] of `label` reads first, a few packets
    /// before the lookup (no-op for a label beyond 20 bits).
    #[inline]
    pub fn prefetch(&self, label: u32) {
        self.table.prefetch(label)
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True without entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Back to the control-side form (walks the whole label space).
    pub fn to_builder(&self) -> LfibBuilder {
        LfibBuilder {
            entries: self.table.iter().map(|(l, e)| (l, e.to_action())).collect(),
        }
    }

    /// `(label, V-LFIB)` of every own anycast segment label.
    pub(super) fn anycast_entries(&self) -> impl Iterator<Item = (u32, VlfibId)> + '_ {
        self.table.iter().filter_map(|(label, e)| match e {
            LfibEntry::Anycast(id) => Some((label, id)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn adj(port: u16) -> Adjacency {
        Adjacency {
            port,
            dst_mac: [2, 0, 0, 0, 0, port as u8],
            src_mac: [2, 0, 0, 0, 1, port as u8],
        }
    }

    #[test]
    fn next_hop_constructors() {
        let p = NextHop::pop(adj(1));
        assert!(p.out_labels().is_empty());
        assert_eq!(p.adjacency().port, 1);
        let s = NextHop::swap(adj(2), 1100).unwrap();
        assert_eq!(s.out_labels(), &[1100]);
        let u = NextHop::push(adj(3), &[16, 17, 18]).unwrap();
        assert_eq!(u.out_labels(), &[16, 17, 18]);
        assert_eq!(NextHop::push(adj(3), &[]).unwrap(), NextHop::pop(adj(3)));
        // explicit null is a valid out label (the egress asked for it), implicit null is not
        assert!(NextHop::swap(adj(1), 0).is_ok());
        assert_eq!(
            NextHop::swap(adj(1), 3),
            Err(TableError::ImplicitNullOutLabel)
        );
        assert_eq!(
            NextHop::swap(adj(1), 1 << 20),
            Err(TableError::LabelOutOfRange(1 << 20))
        );
        assert_eq!(
            NextHop::push(adj(1), &[20; 9]),
            Err(TableError::TooManyOutLabels(9))
        );
        assert!(NextHop::push(adj(1), &[20; MAX_OUT_LABELS]).is_ok());
        assert!(format!("{s:?}").contains("1100"));
    }

    #[test]
    fn action_constructors() {
        assert_eq!(
            LfibAction::swap(adj(1), 99).unwrap(),
            LfibAction::Forward(vec![NextHop::swap(adj(1), 99).unwrap()])
        );
        assert_eq!(
            LfibAction::pop(adj(1)),
            LfibAction::Forward(vec![NextHop::pop(adj(1))])
        );
        assert_eq!(
            LfibAction::push(adj(1), &[20, 21]).unwrap(),
            LfibAction::Forward(vec![NextHop::push(adj(1), &[20, 21]).unwrap()])
        );
        assert_eq!(LfibAction::ecmp(vec![]), Err(TableError::EmptyEcmp));
        let many = vec![NextHop::pop(adj(1)); MAX_ECMP_PATHS + 1];
        assert_eq!(
            LfibAction::ecmp(many),
            Err(TableError::TooManyPaths(MAX_ECMP_PATHS + 1))
        );
    }

    #[test]
    fn builder_validates_labels_and_paths() {
        let mut b = LfibBuilder::new();
        assert_eq!(
            b.insert(15, LfibAction::PopAndLookup),
            Err(TableError::ReservedLabel(15))
        );
        assert_eq!(
            b.insert(0, LfibAction::PopAndLookup),
            Err(TableError::ReservedLabel(0))
        );
        assert_eq!(
            b.insert(1 << 20, LfibAction::PopAndLookup),
            Err(TableError::LabelOutOfRange(1 << 20))
        );
        assert_eq!(
            b.insert(100, LfibAction::Forward(vec![])),
            Err(TableError::EmptyEcmp)
        );
        assert_eq!(b.insert(16, LfibAction::PopAndLookup), Ok(None));
        assert_eq!(b.insert(MAX_LABEL, LfibAction::PopAndLookup), Ok(None));
        assert_eq!(
            b.insert(16, LfibAction::pop(adj(1))),
            Ok(Some(LfibAction::PopAndLookup))
        );
        assert_eq!(b.len(), 2);
        assert!(!b.is_empty());
        assert_eq!(b.remove(MAX_LABEL), Some(LfibAction::PopAndLookup));
        assert_eq!(b.get(16), Some(&LfibAction::pop(adj(1))));
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn frozen_lookup_of_every_action() {
        let mut b = Lfib::builder();
        let ecmp = vec![
            NextHop::swap(adj(1), 1100).unwrap(),
            NextHop::swap(adj(2), 2100).unwrap(),
        ];
        b.insert(7100, LfibAction::ecmp(ecmp.clone()).unwrap())
            .unwrap();
        b.insert(7010, LfibAction::pop(adj(3))).unwrap();
        b.insert(7001, LfibAction::PopAndLookup).unwrap();
        b.insert(1100, LfibAction::Anycast(VlfibId(0))).unwrap();
        b.insert(500, LfibAction::push(adj(4), &[600, 700]).unwrap())
            .unwrap();
        let lfib = b.freeze();
        assert_eq!(lfib.len(), 5);
        assert!(!lfib.is_empty());
        assert_eq!(lfib.lookup(7100), Some(LfibEntry::Forward(&ecmp)));
        assert_eq!(
            lfib.lookup(7010),
            Some(LfibEntry::Forward(&[NextHop::pop(adj(3))]))
        );
        assert_eq!(lfib.lookup(7001), Some(LfibEntry::PopAndLookup));
        assert_eq!(lfib.lookup(1100), Some(LfibEntry::Anycast(VlfibId(0))));
        match lfib.lookup(500) {
            Some(LfibEntry::Forward([hop])) => assert_eq!(hop.out_labels(), &[600, 700]),
            other => panic!("unexpected {other:?}"),
        }
        for missing in [0, 3, 15, 16, 7099, 7101, MAX_LABEL, MAX_LABEL + 1, u32::MAX] {
            assert_eq!(lfib.lookup(missing), None, "label {missing}");
        }
        assert_eq!(lfib.to_builder(), b);
        assert_eq!(
            lfib.anycast_entries().collect::<Vec<_>>(),
            vec![(1100, VlfibId(0))]
        );
        assert!(format!("{lfib:?}").contains("entries: 5"));
    }

    /// What the data path sees must be what [`Lfib::lookup`] says.
    fn route_agrees(route: Option<Route<'_>>, entry: Option<LfibEntry<'_>>) -> bool {
        match (route, entry) {
            (None, None) => true,
            (Some(Route::PopAndLookup), Some(LfibEntry::PopAndLookup)) => true,
            (Some(Route::Anycast(a)), Some(LfibEntry::Anycast(b))) => a == b,
            (Some(Route::Paths(a)), Some(LfibEntry::Forward(b))) => a == b,
            (Some(Route::Uniform { label, adjacencies }), Some(LfibEntry::Forward(hops))) => {
                adjacencies.len() == hops.len()
                    && hops
                        .iter()
                        .zip(adjacencies)
                        .all(|(h, a)| h.adjacency() == a && h.out_labels() == label.as_slice())
            }
            _ => false,
        }
    }

    #[test]
    fn compact_routes_for_swap_and_pop() {
        let mut b = Lfib::builder();
        b.insert(100, LfibAction::swap(adj(1), 1100).unwrap())
            .unwrap();
        b.insert(101, LfibAction::swap(adj(1), MAX_LABEL).unwrap())
            .unwrap();
        b.insert(102, LfibAction::pop(adj(2))).unwrap();
        // ECMP whose paths only differ by adjacency: still compact
        let same_label = vec![
            NextHop::swap(adj(1), 0).unwrap(),
            NextHop::swap(adj(2), 0).unwrap(),
        ];
        b.insert(103, LfibAction::ecmp(same_label).unwrap())
            .unwrap();
        // different labels, or a push: the arena
        let ecmp = vec![
            NextHop::swap(adj(1), 1100).unwrap(),
            NextHop::swap(adj(2), 2100).unwrap(),
        ];
        b.insert(104, LfibAction::ecmp(ecmp.clone()).unwrap())
            .unwrap();
        b.insert(105, LfibAction::push(adj(1), &[20, 21]).unwrap())
            .unwrap();
        b.insert(106, LfibAction::PopAndLookup).unwrap();
        b.insert(107, LfibAction::Anycast(VlfibId(3))).unwrap();
        let lfib = b.freeze();
        let a1 = [adj(1)];
        assert_eq!(
            lfib.route(100),
            Some(Route::Uniform {
                label: Some(1100),
                adjacencies: &a1
            })
        );
        assert_eq!(
            lfib.route(101),
            Some(Route::Uniform {
                label: Some(MAX_LABEL),
                adjacencies: &a1
            })
        );
        assert_eq!(
            lfib.route(102),
            Some(Route::Uniform {
                label: None,
                adjacencies: &[adj(2)]
            })
        );
        assert_eq!(
            lfib.route(103),
            Some(Route::Uniform {
                label: Some(0),
                adjacencies: &[adj(1), adj(2)]
            })
        );
        assert_eq!(lfib.route(104), Some(Route::Paths(&ecmp)));
        assert!(matches!(lfib.route(105), Some(Route::Paths([_]))));
        assert_eq!(lfib.route(106), Some(Route::PopAndLookup));
        assert_eq!(lfib.route(107), Some(Route::Anycast(VlfibId(3))));
        for missing in [0, 16, 99, 108, MAX_LABEL, MAX_LABEL + 1, u32::MAX] {
            assert_eq!(lfib.route(missing), None, "label {missing}");
            lfib.prefetch(missing);
        }
        // three distinct adjacency sets: [1], [2], [1, 2]
        assert_eq!(lfib.table.sets.len(), 3);
        for label in 100..=107 {
            assert!(route_agrees(lfib.route(label), lfib.lookup(label)));
        }
    }

    #[test]
    fn a_swap_block_shares_one_adjacency_set() {
        let mut b = Lfib::builder();
        for k in 0..10_000 {
            let hops = vec![
                NextHop::swap(adj(1), 50_000 + k).unwrap(),
                NextHop::swap(adj(2), 50_000 + k).unwrap(),
            ];
            b.insert(16 + k, LfibAction::Forward(hops)).unwrap();
        }
        let lfib = b.freeze();
        assert_eq!(lfib.table.sets.len(), 1);
        assert_eq!(lfib.table.adjacencies.len(), 2);
        assert_eq!(
            lfib.route(16 + 9_999),
            Some(Route::Uniform {
                label: Some(59_999),
                adjacencies: &[adj(1), adj(2)]
            })
        );
    }

    #[test]
    fn beyond_the_set_limit_entries_take_the_arena() {
        // Each label its own adjacency set (distinct MACs): the first fast::MAX_SETS are
        // compact, the others are read through the arena, and all read back the same.
        let n = fast::MAX_SETS as u32 + 10;
        let hop = |k: u32| {
            let a = Adjacency {
                port: (k % 7) as u16,
                dst_mac: [2, 0, 0, 0, (k >> 8) as u8, k as u8],
                src_mac: [2, 0, 0, 0, 1, 1],
            };
            NextHop::swap(a, 1000 + k).unwrap()
        };
        let mut b = Lfib::builder();
        for k in 0..n {
            b.insert(16 + k, LfibAction::Forward(vec![hop(k)])).unwrap();
        }
        let lfib = b.freeze();
        assert_eq!(lfib.table.sets.len(), fast::MAX_SETS);
        assert!(matches!(lfib.route(16), Some(Route::Uniform { .. })));
        assert!(matches!(lfib.route(16 + n - 1), Some(Route::Paths(_))));
        for k in 0..n {
            assert!(route_agrees(lfib.route(16 + k), lfib.lookup(16 + k)), "{k}");
        }
        assert_eq!(lfib.to_builder(), b);
    }

    #[test]
    fn empty_lfib() {
        let lfib = Lfib::default();
        assert!(lfib.is_empty());
        assert_eq!(lfib.lookup(16), None);
        assert_eq!(lfib.route(MAX_LABEL), None);
        assert_eq!(
            lfib.table.key_space(),
            0,
            "an empty LFIB allocates no index"
        );
    }

    fn arb_action() -> impl Strategy<Value = LfibAction> {
        let hop = (0u16..4, proptest::collection::vec(16u32..=MAX_LABEL, 0..=3))
            .prop_map(|(port, labels)| NextHop::push(adj(port), &labels).unwrap());
        // Paths that differ only by adjacency (swap blocks, PHP): the compact form.
        let uniform = (
            proptest::collection::vec(0u16..4, 1..4),
            proptest::option::of(0u32..=MAX_LABEL),
        )
            .prop_map(|(ports, label)| {
                let label = label.filter(|&l| l != reserved::IMPLICIT_NULL);
                let labels: Vec<u32> = label.into_iter().collect();
                LfibAction::Forward(
                    ports
                        .into_iter()
                        .map(|p| NextHop::push(adj(p), &labels).unwrap())
                        .collect(),
                )
            });
        prop_oneof![
            proptest::collection::vec(hop, 1..4).prop_map(LfibAction::Forward),
            uniform,
            Just(LfibAction::PopAndLookup),
            (0u16..3).prop_map(|id| LfibAction::Anycast(VlfibId(id))),
        ]
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u32, LfibAction),
        Remove(u32),
    }

    fn arb_label() -> impl Strategy<Value = u32> {
        // Bias toward a small range so inserts, replacements and removals collide, plus the
        // edges and the whole space.
        prop_oneof![16u32..64, 0u32..=MAX_LABEL, Just(MAX_LABEL), Just(16u32)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn flat_lfib_matches_btreemap_reference(
            ops in proptest::collection::vec(
                prop_oneof![
                    3 => (arb_label(), arb_action()).prop_map(|(l, a)| Op::Insert(l, a)),
                    1 => arb_label().prop_map(Op::Remove),
                ],
                0..64,
            ),
            probes in proptest::collection::vec(any::<u32>(), 0..64),
        ) {
            let mut builder = LfibBuilder::new();
            let mut reference: BTreeMap<u32, LfibAction> = BTreeMap::new();
            for op in &ops {
                match op {
                    Op::Insert(l, a) => {
                        let got = builder.insert(*l, a.clone());
                        if *l < FIRST_UNRESERVED_LABEL {
                            prop_assert_eq!(got, Err(TableError::ReservedLabel(*l)));
                        } else {
                            prop_assert_eq!(got, Ok(reference.insert(*l, a.clone())));
                        }
                    }
                    Op::Remove(l) => {
                        prop_assert_eq!(builder.remove(*l), reference.remove(l));
                    }
                }
            }
            let lfib = builder.freeze();
            prop_assert_eq!(lfib.len(), reference.len());
            let inserted = ops.iter().map(|op| match op {
                Op::Insert(l, _) | Op::Remove(l) => *l,
            });
            for label in inserted.chain(probes.iter().copied()) {
                let got = lfib.lookup(label).map(|e| e.to_action());
                prop_assert_eq!(got.as_ref(), reference.get(&label), "label {}", label);
                prop_assert!(route_agrees(lfib.route(label), lfib.lookup(label)), "label {}", label);
            }
        }
    }
}
