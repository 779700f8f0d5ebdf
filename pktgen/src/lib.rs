//! srgate's traffic generator.
//!
//! A DPDK generator for the protocols srgate forwards (IPv4/IPv6 overlay traffic, MPLS label
//! stacks, SRv6 with an SRH, SRoU, STAMP), driven by TOML profiles, sending on several cores
//! at a TSC-paced rate and measuring loss, reordering, duplicates and latency from a
//! signature (stream, sequence number, TX timestamp) carried in every packet's payload.
//!
//! - [`profile`]: the TOML profile, its validation (errors name the file and the field) and
//!   the resolved [`profile::Spec`];
//! - [`template`]: per-size packet templates built once, patched per packet (flow port,
//!   signature, STAMP fields, incremental UDP checksums);
//! - [`sig`]: the payload signature and how the receiver finds it;
//! - [`rate`]: the per-core token bucket on the TSC;
//! - [`stats`]: per-stream loss/reorder/duplicate accounting and the latency histogram;
//! - [`run`]: EAL, ports, TX/RX jobs on lcores, the live line and the JSON result.
//!
//! Everything but [`run`] works on byte slices and is tested without EAL.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod profile;
pub mod rate;
pub mod run;
pub mod sig;
pub mod stats;
pub mod template;
