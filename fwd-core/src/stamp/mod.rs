//! The STAMP / TWAMP-Light Session-Reflector in the data plane (RFC 8762, unauthenticated
//! mode), with SRv6 path consistency through the SRH path segment
//! (draft-weng-ippm-srpm-path-consistency-over-srv6-01, seed 003).
//!
//! - [`wire`]: views of the Session-Sender and Session-Reflector test packets, the NTP
//!   64-bit timestamp and the Error Estimate;
//! - [`tables`]: [`StampTables`], the reflector's immutable configuration (own addresses,
//!   port, P-flag bit, path segment → reverse segment list);
//! - [`reflector`]: [`reflect`], which turns a test packet into its reply in place;
//! - [`config`]: the `[tables.stamp]` configuration section and its `build()`;
//! - [`sender`]: this node's own STAMP Session-Senders ([`sender::SenderTables`] in the
//!   same tables): test packets sent by a worker, replies measured into the run's shared
//!   [`sender::ProbeResults`] (delay, jitter, loss) and consumed before the reflector
//!   sees them.
//!
//! A test packet is an Ethernet frame (up to two VLAN tags) holding IPv4/UDP or IPv6/UDP,
//! optionally with an SRv6 SRH, whose UDP destination port is the configured port (862 by
//! default) and whose IP destination is one of the node's own addresses. Anything else is
//! [`StampOutcome::NotForMe`] and is left untouched.
//!
//! # The reply (choices documented here)
//!
//! - **Stateless reflector** (RFC 8762 §4.3): the reply's Sequence Number is a copy of the
//!   sender's. No per-session or per-worker state exists, so [`reflect`] reads only
//!   `&StampTables`.
//! - **Timestamps**: T2 (Receive Timestamp) and T3 (Timestamp) are NTP 64-bit values given
//!   by the caller (`rx_time`, `tx_time`), so tests are deterministic; the worker derives
//!   them from the TSC anchored to the wall clock at start. T3 is `tx_time`, raised to
//!   `rx_time` if it is earlier: never T3 < T2. The reflector's Error Estimate is
//!   configured (default: S = 0, Z = 0, scale 0, multiplier 1).
//! - **Copied fields**: Session-Sender Sequence Number, Timestamp and Error Estimate; all
//!   MBZ bytes of the 44-byte reflector packet are zeroed.
//! - **Session-Sender TTL** is the TTL / hop limit of the *outermost* IP header as received
//!   (for an encapsulated SRv6 test packet, the outer header: the one the forward path
//!   decremented).
//! - **Reply TTL / hop limit**: 255 by default (RFC 5357 §4.2.1; configurable), in every IP
//!   header of the reply.
//! - **Addresses and ports**: IP source and destination swapped (the reply comes from the
//!   address the test packet was sent to), UDP ports swapped (from the STAMP port to the
//!   sender's port).
//! - **Length**: a UDP payload of 44 bytes or more keeps its length; bytes after the 44th
//!   (sender padding, RFC 8972 TLVs) are returned untouched and not interpreted. A payload
//!   of 14 to 43 bytes (a TWAMP-Light sender: 14 bytes of fields and short padding) is
//!   extended to the 44-byte reflector packet with zeros, using the frame's Ethernet
//!   padding or else the buffer's headroom (the frame is shifted forward;
//!   [`DropReason::StampNoHeadroom`] without room). Fewer than 14 bytes cannot carry the
//!   sender's fields: [`DropReason::StampTooShort`].
//! - **Checksums**: the received UDP checksum is verified ([`DropReason::StampBadChecksum`];
//!   0 means none over IPv4 and is refused over IPv6, RFC 8200). The reply's UDP checksum
//!   is always computed, over IPv4 too, on the pseudo-header of the final destination (the
//!   sender, also when an SRH is present, RFC 8200 §8.1); the IPv4 header checksum is
//!   recomputed.
//! - **IPv4**: answered in place; options are kept; identification and flags unchanged.
//! - **IPv6**: the headers in front of the UDP datagram are rebuilt: the traffic class
//!   and flow label of the header carrying UDP are kept; other extension headers
//!   (Hop-by-Hop, Destination Options, an SRH without the P-flag) are not returned.
//! - **L2**: the reply leaves by the port it came in on: destination MAC = the test
//!   packet's source MAC, source MAC = its destination MAC, VLAN tags kept
//!   ([`StampOutcome::Reflected`] carries that [`crate::adjacency::Adjacency`]).
//! - **Fragments** to the STAMP port of an own address are dropped
//!   ([`DropReason::StampFragment`]): there is no reassembly.
//!
//! # SRv6 and the path segment (seed 003)
//!
//! An IPv6 test packet with an SRH is answered only at its last segment: Segments Left
//! must be 0 and the destination an own address (otherwise it is
//! [`StampOutcome::NotForMe`]: SRv6 forwarding's business). Both encodings of the draft
//! are accepted: IPv6 + SRH + UDP (figure 5) and IPv6 + SRH + IPv6 + UDP (figure 4,
//! encapsulation; the inner destination must be an own address too).
//!
//! **Where the path segment is.** The draft (section 4.1, figure 5) has the sender put the
//! path segment of its segment list in the SRH and set the SRH P-flag: figure 5 lists
//! `D's addr, SID-C2, SID-B2, SID-A1` (Segment List\[0..=3\], Segments Left 3) and then
//! `SID-Path-1`. The path segment is thus **Segment List\[Last Entry\]**, one entry past
//! the first segment (Last Entry 4, Segments Left starting at 3), so it never becomes the
//! destination; it is not in a TLV. An SRH with the P-flag and Last Entry 0 has no room
//! for it:
//! [`DropReason::StampBadPathSegment`]. The P-flag has no IANA bit: it is a configuration
//! value (`p_flag`, one bit, not 0x20 = RFC 9259's O-flag nor 0x08 = Linux's old HMAC
//! flag). Without a configured bit the SRH flags are not examined.
//!
//! **The mapping.** The draft's figure 3 keeps two columns on NodeD (path segment
//! SID-Path-2 of its own segment list D1, C1, B1, and the reverse path segment
//! SID-Path-1) and finds the reply's segment list through the *received* path segment.
//! Only that last step matters in the data plane, so the table maps **the path segment as
//! received → the reply's segment list in travel order** (NodeD: `SID-Path-1 → [SID-D1,
//! SID-C1, SID-B1]`). A path segment without an entry is
//! [`DropReason::StampNoReversePath`]: answering along another path would defeat the
//! measurement.
//!
//! **The reply** (figures 6 and 7): source = the reflector's address (the test packet's
//! destination), SRH with Segment List\[0\] = the sender's address followed by the reverse
//! list (figure 7: `A's addr, SID-B1, SID-C1, SID-D1`), Segments Left = Last Entry = its
//! length (see below for own SIDs), destination = the first reverse segment, Flags 0
//! (P-flag clear, no path segment in the reply, as in figure 7), Tag 0. If the test
//! packet was encapsulated, the reply is too (figure 6): outer IPv6, SRH (Next Header
//! 41), inner IPv6 (reflector → sender), UDP. The reply's length changes; the Ethernet
//! header moves with [`crate::buf::PacketBuf::prepend`] / [`crate::buf::PacketBuf::adj`].
//!
//! An SRv6 test packet **without** the P-flag (or with P-flag processing unconfigured) is
//! answered as plain IPv6/UDP, like any STAMP reflector: the SRH is removed and an
//! encapsulated test packet is answered from its inner header.
//!
//! The reply is sent back on the ingress port like every reply. Figure 7's list starts
//! with D's own End.X SID (SID-D1); a neighbour would send such a destination straight
//! back. So leading reverse segments that are **own addresses** (listed in `addresses`)
//! are consumed by the reflector itself, as an End endpoint would: the SRH keeps them,
//! but Segments Left points at the first foreign segment (or 0 and the sender, if all
//! are own), which becomes the destination. List SID-D1 in `addresses` to get figure 7's
//! packet as it leaves D (`SL=2, DA=SID-C1`); otherwise it leaves as drawn (`SL=3,
//! DA=SID-D1`).

pub mod config;
pub mod reflector;
pub mod sender;
pub mod tables;
pub mod wire;

#[cfg(test)]
mod tests;

pub use config::{StampConfig, StampConfigError};
pub use reflector::{reflect, StampOutcome};
pub use sender::{ProbeResults, SenderTables, SessionParams, SessionSnapshot};
pub use tables::{StampTables, StampTablesBuilder, StampTablesError, DEFAULT_PORT};
pub use wire::{ErrorEstimate, NtpTimestamp};

#[cfg(doc)]
use crate::drop::DropReason;
