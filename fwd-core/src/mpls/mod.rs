//! The MPLS data plane: label forwarding tables, anycast segments with a virtual LFIB
//! (draft-psarkar-spring-mpls-anycast-segments-00, seed 004) and the per-packet forwarding
//! function.
//!
//! Two forms of one table, as in VPP's MPLS FIB: the control side edits an ordered map
//! ([`LfibBuilder`], [`VlfibBuilder`]) and freezes it into an immutable flat table
//! ([`Lfib`], [`Vlfib`]) indexed directly by the label: one `u32` per label of the 20-bit
//! space (4 MiB). A single-label swap or a pop (PHP), with or without ECMP over paths that
//! differ only by adjacency, is encoded in that `u32` (outgoing label + one of a few
//! shared adjacency sets): one cache miss per lookup, which the worker prefetches a few
//! packets ahead ([`Lfib::prefetch`]). Push, ECMP over different labels, pop-and-lookup
//! and anycast entries point into an arena of entries and next hops. Nothing on the
//! per-packet path allocates, locks or panics.
//!
//! - [`lfib`]: the default LFIB and its actions (swap, pop, push, ECMP, pop-and-lookup,
//!   own anycast segment);
//! - [`vlfib`]: the virtual LFIB of the draft, keyed by SID index;
//! - [`forward()`]: the per-packet forwarding function (and [`impose`] for an ingress);
//!   [`forward::swap_fast`], the plain swap on one adjacency done before the pipeline's
//!   general parse (same result, property-tested; most of a transit LSR's traffic);
//! - [`label_stack`](mod@label_stack): the ingress label-stack computation of the draft's section 3.3;
//! - [`config`]: the `[tables.mpls]` configuration section and its `build()`.
//!
//! # Forwarding semantics (choices documented here)
//!
//! - **TTL**: the TTL of the label on top of the stack *on arrival* is the packet's TTL at
//!   this node, whatever number of labels the node consumes (pop-and-lookup, explicit null,
//!   anycast pop + V-LFIB). A forwarded packet leaves with `ttl - 1` in every label the node
//!   writes, and in the label exposed by a pop; `ttl <= 1` on arrival drops it
//!   ([`DropReason::TtlExpired`](crate::drop::DropReason::TtlExpired)). A packet delivered
//!   locally is not TTL-checked (it ends here).
//! - **Pipe model toward the payload** (RFC 3443): popping the last label exposes the
//!   IPv4/IPv6 payload untouched: its TTL/hop limit and checksum are not changed; the MPLS
//!   TTL is discarded. The EtherType becomes 0x0800/0x86DD from the payload's first nibble;
//!   anything else is dropped (`mpls-bad-payload`).
//! - **TC**: a swapped label keeps its TC; labels pushed in place of a label take its TC; a
//!   label exposed by a pop keeps its own.
//! - **S bit**: labels written in place of a label get S=0, except the last (innermost) one,
//!   which inherits the S bit of the label it replaces.
//! - **Reserved labels** (0-15) on top: 0 and 2 (explicit null) are popped and the next label
//!   looked up, or the payload delivered locally when they are the bottom (RFC 4182); 7 (ELI)
//!   is popped with the entropy label under it (RFC 6790); 3 (implicit null) never appears on
//!   the wire; 1 (router alert: there is no punt path), 13 (GAL), 14 (OAM alert), 15
//!   (extension) and the unassigned ones are dropped, each with a counted reason.
//! - **Bounded work**: at most [`MAX_LOOKUPS`] labels are examined per packet.

pub mod config;
pub mod forward;
pub mod label_stack;
pub mod lfib;
pub mod vlfib;

#[cfg(test)]
mod tests;

pub use config::{MplsConfig, MplsConfigError};
pub use forward::{forward, impose, MplsOutcome, Payload, MAX_LOOKUPS};
pub use label_stack::{label_stack, LabelStackError, Segment, Srgb};
pub use lfib::{Lfib, LfibAction, LfibBuilder, LfibEntry, NextHop};
pub use vlfib::{Vlfib, VlfibBuilder, VlfibId};

/// The largest MPLS label value (20 bits).
pub const MAX_LABEL: u32 = (1 << 20) - 1;
/// Number of labels in the label space (entries of a flat [`Lfib`]).
pub const LABEL_SPACE: usize = 1 << 20;
/// The first label that is not reserved (RFC 3032: 0-15 are special purpose).
pub const FIRST_UNRESERVED_LABEL: u32 = 16;
/// Most labels one next hop may write in place of the label it replaces.
pub const MAX_OUT_LABELS: usize = 8;
/// Most next hops of one ECMP set.
pub const MAX_ECMP_PATHS: usize = 64;
/// Most virtual LFIBs in one [`MplsTables`].
pub const MAX_VLFIBS: usize = 256;

/// Special-purpose label values (RFC 3032, RFC 7274 registry).
pub mod reserved {
    /// IPv4 explicit null.
    pub const IPV4_EXPLICIT_NULL: u32 = 0;
    /// Router alert.
    pub const ROUTER_ALERT: u32 = 1;
    /// IPv6 explicit null.
    pub const IPV6_EXPLICIT_NULL: u32 = 2;
    /// Implicit null: signalled, never on the wire.
    pub const IMPLICIT_NULL: u32 = 3;
    /// Entropy label indicator (RFC 6790).
    pub const ELI: u32 = 7;
    /// Generic associated channel label (RFC 5586).
    pub const GAL: u32 = 13;
    /// OAM alert (RFC 3429).
    pub const OAM_ALERT: u32 = 14;
    /// Extension label (RFC 7274).
    pub const EXTENSION: u32 = 15;
}

/// EtherType of MPLS unicast.
pub const ETHERTYPE_MPLS: u16 = 0x8847;
/// EtherType of MPLS multicast.
pub const ETHERTYPE_MPLS_MC: u16 = 0x8848;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86DD;

/// An error building or combining MPLS tables (control side only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// A label or SID index beyond 20 bits.
    #[error("label {0} is beyond the 20-bit label space (max {MAX_LABEL})")]
    LabelOutOfRange(u32),
    /// An LFIB entry for a reserved label.
    #[error("label {0} is reserved (0-15) and cannot have an LFIB entry")]
    ReservedLabel(u32),
    /// Implicit null as an outgoing label.
    #[error("implicit null (3) is not an outgoing label: give no label to pop (PHP)")]
    ImplicitNullOutLabel,
    /// Too many outgoing labels on a next hop.
    #[error("{0} outgoing labels on one next hop (max {MAX_OUT_LABELS})")]
    TooManyOutLabels(usize),
    /// A forwarding entry without next hops.
    #[error("empty ECMP set: a forwarding entry needs at least one next hop")]
    EmptyEcmp,
    /// Too many next hops.
    #[error("{0} next hops in one ECMP set (max {MAX_ECMP_PATHS})")]
    TooManyPaths(usize),
    /// An anycast entry naming a V-LFIB the tables do not have.
    #[error("label {label} refers to V-LFIB {vlfib}, but only {count} V-LFIBs exist")]
    UnknownVlfib {
        /// The anycast segment label.
        label: u32,
        /// The V-LFIB it names.
        vlfib: u16,
        /// How many V-LFIBs there are.
        count: usize,
    },
    /// Too many V-LFIBs.
    #[error("{0} V-LFIBs (max {MAX_VLFIBS})")]
    TooManyVlfibs(usize),
}

/// Everything the MPLS forwarding function reads: the default LFIB and the V-LFIBs its
/// anycast entries name. Immutable once built; publish new snapshots through
/// [`crate::rcu`].
#[derive(Debug, Clone)]
pub struct MplsTables {
    lfib: Lfib,
    vlfibs: Box<[Vlfib]>,
}

impl Default for MplsTables {
    fn default() -> Self {
        Self::empty()
    }
}

impl MplsTables {
    /// Combines an LFIB and its V-LFIBs (`vlfibs[i]` is [`VlfibId`] `i`), checking that
    /// every anycast entry names an existing V-LFIB.
    pub fn new(lfib: Lfib, vlfibs: Vec<Vlfib>) -> Result<Self, TableError> {
        if vlfibs.len() > MAX_VLFIBS {
            return Err(TableError::TooManyVlfibs(vlfibs.len()));
        }
        if let Some((label, id)) = lfib
            .anycast_entries()
            .find(|(_, id)| id.index() >= vlfibs.len())
        {
            return Err(TableError::UnknownVlfib {
                label,
                vlfib: id.0,
                count: vlfibs.len(),
            });
        }
        Ok(MplsTables {
            lfib,
            vlfibs: vlfibs.into_boxed_slice(),
        })
    }

    /// Tables without any entry: every labelled packet is dropped (`mpls-no-label`).
    pub fn empty() -> Self {
        MplsTables {
            lfib: Lfib::empty(),
            vlfibs: Box::new([]),
        }
    }

    /// The default LFIB.
    #[inline]
    pub fn lfib(&self) -> &Lfib {
        &self.lfib
    }

    /// The V-LFIB `id`, if it exists.
    #[inline]
    pub fn vlfib(&self, id: VlfibId) -> Option<&Vlfib> {
        self.vlfibs.get(id.index())
    }

    /// Number of V-LFIBs.
    pub fn vlfib_count(&self) -> usize {
        self.vlfibs.len()
    }
}

/// One label stack entry (RFC 3032): label (20 bits), TC (3), S (1), TTL (8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lse(pub(crate) u32);

impl Lse {
    /// An entry from its fields (`label` and `tc` are masked to their widths).
    #[inline]
    pub(crate) const fn new(label: u32, tc: u8, bos: bool, ttl: u8) -> Self {
        Lse(((label & MAX_LABEL) << 12)
            | (((tc & 7) as u32) << 9)
            | ((bos as u32) << 8)
            | ttl as u32)
    }
    /// Reads the entry at `at`, if four bytes are there.
    #[inline]
    pub(crate) fn read(frame: &[u8], at: usize) -> Option<Self> {
        let b = frame.get(at..at.checked_add(4)?)?;
        Some(Lse(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
    }
    /// Writes the entry at `at`; `None` if the frame is too short.
    #[inline]
    pub(crate) fn write(self, frame: &mut [u8], at: usize) -> Option<()> {
        frame
            .get_mut(at..at.checked_add(4)?)?
            .copy_from_slice(&self.0.to_be_bytes());
        Some(())
    }
    #[inline]
    pub(crate) const fn label(self) -> u32 {
        self.0 >> 12
    }
    #[inline]
    pub(crate) const fn tc(self) -> u8 {
        ((self.0 >> 9) & 7) as u8
    }
    #[inline]
    pub(crate) const fn bos(self) -> bool {
        (self.0 >> 8) & 1 == 1
    }
    #[inline]
    pub(crate) const fn ttl(self) -> u8 {
        self.0 as u8
    }
}
