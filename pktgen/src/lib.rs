//! srgate's traffic generator.
//!
//! A DPDK generator for the protocols srgate forwards (MPLS label stacks, SRoU, IPv4/IPv6
//! overlay traffic, SRv6 with SRH and service SIDs, STAMP), driven by TOML profiles, sending
//! on several cores and measuring throughput, loss, reordering and latency (TSC timestamps in
//! the payload, hdrhistogram). See issue 5; the crate is empty until then.
#![deny(unsafe_code)]
#![warn(missing_docs)]
