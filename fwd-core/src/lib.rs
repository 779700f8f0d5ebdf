//! srgate's data plane.
//!
//! The crate is split the way DPDK's l3fwd and VPP split a forwarder:
//! - [`wire`]: typed zero-copy views over header bytes (smoltcp style), one file per header;
//! - [`packet`]: the parser that walks a frame once into compact [`packet::PacketMeta`];
//! - [`adjacency`]: egress port + Ethernet rewrite, the result of every lookup;
//! - [`buf`]: the packet-buffer trait handlers work on (DPDK mbufs, or plain vectors in tests);
//! - [`clock`]: TSC-based wall-clock time for timestamps on the fast path;
//! - [`drop`](mod@drop): the reasons a packet can be dropped, one counter each;
//! - [`mpls`]: the LFIB, anycast segments with a virtual LFIB, and MPLS label forwarding;
//! - [`pipeline`]: per-protocol handlers that turn a parsed packet into an [`pipeline::Action`];
//! - [`overlay`]: per-VNID EVPN type-2/type-5 routes (exact MAC/IP, LPM prefixes) to SRoU policies;
//! - [`srou`]: Segment Routing over UDP: header view, tables, encapsulation, transit, decapsulation;
//! - [`service`]: hierarchical service FIBs (Global/Local) with END.CG/END.CL computing segments;
//! - [`dyncast`]: LISP dynamic anycast: DSEID to RLOC set, per-flow affinity, LISP encapsulation;
//! - [`stamp`]: the STAMP / TWAMP-Light reflector (RFC 8762), with SRv6 path-segment reverse paths;
//! - [`rcu`]: RCU-style publication of table snapshots (workers read, the control side swaps);
//! - [`counters`]: single-writer per-worker counters readable from other threads;
//! - [`worker`]: the poll-mode burst loop over DPDK queues (the only part that needs EAL).
//!
//! Everything except [`worker`] works on byte slices and is tested without EAL.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod adjacency;
pub mod buf;
pub mod clock;
pub mod counters;
pub mod drop;
pub mod dyncast;
pub mod mpls;
pub mod overlay;
pub mod packet;
pub mod pipeline;
pub mod prefetch_tuner;
pub mod rcu;
pub mod service;
pub mod srou;
pub mod stamp;
pub mod wire;
pub mod worker;
