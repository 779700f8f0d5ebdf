//! The virtual LFIB (V-LFIB) of the anycast-segments draft, section 3.2: a label space of
//! its own, keyed by the SID index of a prefix segment, consulted only for the label that
//! follows one of this node's own anycast segment labels.
//!
//! Each entry is one or more forwarding tuples (outgoing label, outgoing link): a
//! [`NextHop`] per shortest path, the outgoing label being the SID index offset into the
//! SRGB of that neighbour. The next lookup, on the next node, is in its default LFIB again.
//!
//! Like the LFIB, it has a control-side form ([`VlfibBuilder`]) and a frozen, flat form
//! ([`Vlfib`]) indexed directly by the SID index; its index only spans the highest SID
//! index present (SRGBs are usually small), never more than the 20-bit label space.

use std::collections::BTreeMap;

use super::lfib::{check_paths, FlatTable, LfibAction, LfibEntry, NextHop, Route};
use super::{TableError, MAX_LABEL};

/// Names one V-LFIB of an [`super::MplsTables`] (its position in the table list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct VlfibId(pub u16);

impl VlfibId {
    /// The position as an index.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// The control-side form of a V-LFIB: SID index -> forwarding tuples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VlfibBuilder {
    // Stored as `LfibAction::Forward` so the frozen form shares the LFIB's flat table.
    entries: BTreeMap<u32, LfibAction>,
}

impl VlfibBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the tuples of `sid_index` (0..=2^20-1; 1..=[`super::MAX_ECMP_PATHS`] next hops),
    /// returning the ones it replaces.
    ///
    /// The whole 20-bit range is accepted, reserved values included: the V-LFIB is its own
    /// label space (the draft's own example has SID 10 and 20).
    pub fn insert(
        &mut self,
        sid_index: u32,
        paths: Vec<NextHop>,
    ) -> Result<Option<Vec<NextHop>>, TableError> {
        if sid_index > MAX_LABEL {
            return Err(TableError::LabelOutOfRange(sid_index));
        }
        check_paths(&paths)?;
        Ok(self
            .entries
            .insert(sid_index, LfibAction::Forward(paths))
            .and_then(into_paths))
    }

    /// Removes the entry of `sid_index`, returning its tuples.
    pub fn remove(&mut self, sid_index: u32) -> Option<Vec<NextHop>> {
        self.entries.remove(&sid_index).and_then(into_paths)
    }

    /// The tuples of `sid_index`.
    pub fn get(&self, sid_index: u32) -> Option<&[NextHop]> {
        match self.entries.get(&sid_index)? {
            LfibAction::Forward(p) => Some(p),
            _ => None,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True without entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every `(sid_index, tuples)`, in SID order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[NextHop])> + '_ {
        self.entries.iter().filter_map(|(k, a)| match a {
            LfibAction::Forward(p) => Some((*k, p.as_slice())),
            _ => None,
        })
    }

    /// The frozen, flat form, indexed up to the highest SID index present.
    pub fn freeze(&self) -> Vlfib {
        let size = self
            .entries
            .keys()
            .next_back()
            .map_or(0, |max| *max as usize + 1);
        Vlfib {
            table: FlatTable::build(size, self.entries.iter().map(|(k, a)| (*k, a))),
        }
    }
}

fn into_paths(a: LfibAction) -> Option<Vec<NextHop>> {
    match a {
        LfibAction::Forward(p) => Some(p),
        _ => None,
    }
}

/// The frozen V-LFIB: O(1) lookup by SID index.
#[derive(Debug, Clone)]
pub struct Vlfib {
    table: FlatTable,
}

impl Default for Vlfib {
    fn default() -> Self {
        VlfibBuilder::new().freeze()
    }
}

impl Vlfib {
    /// A new, empty builder.
    pub fn builder() -> VlfibBuilder {
        VlfibBuilder::new()
    }

    /// The forwarding tuples of `sid_index` (never an empty slice).
    #[inline]
    pub fn lookup(&self, sid_index: u32) -> Option<&[NextHop]> {
        match self.table.get(sid_index)? {
            LfibEntry::Forward(paths) => Some(paths),
            _ => None,
        }
    }

    /// The forwarding tuples of `sid_index` in the form the data path reads (see
    /// [`super::Lfib`]): only forwarding routes, as [`Vlfib::lookup`].
    #[inline]
    pub(crate) fn route(&self, sid_index: u32) -> Option<Route<'_>> {
        match self.table.route(sid_index)? {
            r @ (Route::Uniform { .. } | Route::Paths(_)) => Some(r),
            Route::PopAndLookup | Route::Anycast(_) => None,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True without entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Back to the control-side form.
    pub fn to_builder(&self) -> VlfibBuilder {
        VlfibBuilder {
            entries: self.table.iter().map(|(k, e)| (k, e.to_action())).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adjacency::Adjacency;
    use proptest::prelude::*;

    fn adj(port: u16) -> Adjacency {
        Adjacency {
            port,
            ..Adjacency::default()
        }
    }

    /// Figure 3 of the draft, device A1: SID 30 has two tuples (3030 via A3, 4030 via A4).
    #[test]
    fn figure3_a1() {
        let (to_r1, to_a3, to_a4) = (adj(0), adj(1), adj(2));
        let mut b = Vlfib::builder();
        b.insert(10, vec![NextHop::swap(to_r1, 7010).unwrap()])
            .unwrap();
        b.insert(20, vec![NextHop::swap(to_r1, 7020).unwrap()])
            .unwrap();
        let thirty = vec![
            NextHop::swap(to_a3, 3030).unwrap(),
            NextHop::swap(to_a4, 4030).unwrap(),
        ];
        b.insert(30, thirty.clone()).unwrap();
        b.insert(
            40,
            vec![
                NextHop::swap(to_a3, 3040).unwrap(),
                NextHop::swap(to_a4, 4040).unwrap(),
            ],
        )
        .unwrap();
        let v = b.freeze();
        assert_eq!(v.len(), 4);
        assert_eq!(v.table.key_space(), 41);
        assert_eq!(v.lookup(30), Some(thirty.as_slice()));
        assert_eq!(v.lookup(10).unwrap()[0].out_labels(), &[7010]);
        // The draft: the group's own anycast SID 100 is not in the V-LFIB.
        assert_eq!(v.lookup(100), None);
        assert_eq!(v.lookup(0), None);
        assert_eq!(v.lookup(u32::MAX), None);
        assert_eq!(v.to_builder(), b);
    }

    #[test]
    fn builder_checks() {
        let mut b = VlfibBuilder::new();
        assert!(b.is_empty());
        assert_eq!(
            b.insert(1 << 20, vec![NextHop::pop(adj(1))]),
            Err(TableError::LabelOutOfRange(1 << 20))
        );
        assert_eq!(b.insert(5, vec![]), Err(TableError::EmptyEcmp));
        // reserved values are plain SID indexes here
        assert_eq!(b.insert(7, vec![NextHop::pop(adj(1))]), Ok(None));
        assert_eq!(
            b.insert(7, vec![NextHop::pop(adj(2))]),
            Ok(Some(vec![NextHop::pop(adj(1))]))
        );
        assert_eq!(b.get(7), Some(&[NextHop::pop(adj(2))][..]));
        assert_eq!(b.iter().count(), 1);
        assert_eq!(b.len(), 1);
        assert_eq!(b.remove(7), Some(vec![NextHop::pop(adj(2))]));
        assert_eq!(b.remove(7), None);
        let empty = b.freeze();
        assert!(empty.is_empty());
        assert_eq!(empty.table.key_space(), 0);
        assert_eq!(empty.lookup(0), None);
        assert!(Vlfib::default().is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn flat_vlfib_matches_btreemap_reference(
            inserts in proptest::collection::vec((0u32..2000, 0u16..4, 1usize..3), 0..40),
            probes in proptest::collection::vec(0u32..2100, 0..40),
        ) {
            let mut b = VlfibBuilder::new();
            let mut reference = BTreeMap::new();
            for (sid, port, n) in inserts {
                let hops: Vec<_> = (0..n).map(|i| NextHop::swap(adj(port + i as u16), 16 + sid).unwrap()).collect();
                b.insert(sid, hops.clone()).unwrap();
                reference.insert(sid, hops);
            }
            let v = b.freeze();
            prop_assert_eq!(v.len(), reference.len());
            for sid in reference.keys().copied().chain(probes) {
                prop_assert_eq!(v.lookup(sid), reference.get(&sid).map(Vec::as_slice));
            }
        }
    }
}
