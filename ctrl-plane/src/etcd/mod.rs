//! etcd: the connection ([`client`]), the key schema of seed `000_*` ([`schema`]), node
//! registration under a lease ([`registration`]), system-label allocation under
//! `/lock/systemlabel` ([`label`]), the live typed view ([`view`]) and the watches that keep
//! it current, resuming or resyncing after a compaction ([`watch`]).

pub mod client;
pub mod label;
pub mod registration;
pub mod schema;
pub mod view;
pub mod watch;

pub use client::{connect, Backoff, EtcdError, EtcdOptions, TlsFiles};
pub use schema::{Key, Role, SchemaError, Value};
pub use view::View;
