//! The frame parser: one pass over a received frame that validates every header the data
//! plane relies on and records where each one starts in a compact [`PacketMeta`].
//!
//! Handlers later in the pipeline never re-parse: they take typed views over the frame at
//! the recorded offsets (e.g. [`PacketMeta::ipv4_mut`]) or plain ranges
//! ([`PacketMeta::l3_range`]).

mod meta;
mod parse;

pub use meta::{flags, L3Kind, PacketMeta};
pub use parse::{parse, MAX_FRAME_LEN, MAX_IPV6_EXT_HEADERS, MAX_MPLS_DEPTH, MAX_VLAN_TAGS};
