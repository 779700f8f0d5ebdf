//! srgate's control plane.
//!
//! A separate thread (tokio, off the worker cores) that keeps a live view of etcd as seed
//! `000_*` lays it out (node registration under leases, system-label allocation under
//! `/lock/systemlabel`, locators, link state, routes, policies, tokens, keys), runs path
//! computation (SPF with ECMP for MPLS prefix and anycast SIDs, SLA-constrained A* for SRoU
//! segment lists, CATS metric aggregation), compiles the result into the data plane's
//! tables and publishes them RCU-style.
//!
//! - [`etcd`]: the connection, the key schema, node registration, label allocation and
//!   watches that resume or resync;
//! - [`path`]: SPF with ECMP and the SLA-constrained A*;
//! - [`cats`]: instance metrics aggregated per PE (seed `001_*`);
//! - [`policy`]: tokens, identities, group policies and keys with rekey windows;
//! - [`compile`]: the view of etcd turned into the data plane's table configurations.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod cats;
pub mod compile;
pub mod controller;
pub mod etcd;
pub mod path;
pub mod policy;
