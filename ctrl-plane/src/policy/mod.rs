//! Policies of seed `000_*` (draft-zartbot-srou-control, "Control Policy" and "Security
//! Key"): tokens, user identities and group policies, keys with rekey windows, and route
//! control. Pure logic: the etcd side feeds keys and values in
//! ([`PolicyState::put`], [`PolicyState::delete`]), [`crate::compile::srou`] turns the
//! result into the data plane's `[tables.srou]` and `[tables.overlay]`.
//!
//! | etcd key | value | module |
//! |---|---|---|
//! | `/token/permit/<flowid>`, `/token/block/<flowid>` | ignored | [`token`] |
//! | `/identity/<userid>/<device_id>` | group tags | [`access`] |
//! | `/policy/<src_grp>/<dst_grp>` | actions | [`access`] |
//! | `/key/<SystemName>`, `/key/socket/<locator>`, `/key/session/<src>-><dst>` | `Key1,Key2` | [`keys`] |
//! | `/control/<RT>/2/<SRC_MAC>/<SRC_IP>/<DST_MAC>/<DST_IP>` | action or locator list | [`control`] |
//! | `/control/<RT>/5/<SRC_Prefix>/<SRC_Mask>/<DST_Prefix>/<DST_Mask>` | action or locator list | [`control`] |
//!
//! # How each reaches the data plane
//!
//! - **Tokens** are the SRoU Flow IDs of `TokenAcl`: compiled to `permit` / `block`
//!   lists (hex), the block list winning.
//! - **Identities and group policies** are compiled down to the same per-token lists (no
//!   new data-plane table): a `device_id` *is* a token (the Flow ID that device's flows
//!   carry), bound to its user's groups; the **destination groups** are the groups of the
//!   enforcing node (what it serves), given by the caller. At a node serving groups `D`,
//!   a token whose groups `G` meet a `deny` rule `(g, d)`, `g ∈ G`, `d ∈ D`, is blocked;
//!   one that meets only `permit` rules is permitted (what matters in permit-only mode).
//!   `TokenAcl` is checked at ingress encapsulation and at every locator a packet reaches
//!   (transit and egress), so the node guarding a destination group drops denied flows on
//!   arrival. Granularity is the node, not the inner destination address: a node serving
//!   several groups blocks a token denied towards any of them (the conservative choice;
//!   per-destination-prefix groups would need a group lookup at decapsulation). See
//!   [`access`] for the precise rules.
//! - **Keys** have no data-plane consumer today (SRoU carries no authentication): a
//!   [`keys::KeyRing`] per scope answers `accepts(key, now)` for the control plane and
//!   for future authenticated transports.
//! - **Route control** compiles what today's overlay can express — a *steer* rule with no
//!   source match becomes an overlay route to a new SRoU policy — and reports the rest
//!   (drops, source matches) as not installed; see [`control`] and
//!   [`crate::compile::srou`].
//!
//! # Untrusted input
//!
//! Keys and values come from etcd: every parser returns a [`PolicyError`] naming what was
//! expected and quoting (at most 64 characters of) what was found; secrets are never
//! quoted. Nothing here panics on any input.

pub mod access;
pub mod control;
pub mod keys;
pub mod token;

use std::time::{Duration, Instant};

pub use access::{AccessDecisions, AccessPolicy, GroupAction, GroupTag, Verdict};
pub use control::{ControlAction, ControlKey, ControlMatch, ControlRules};
pub use keys::{Key, KeyRing, KeyRings, KeyScope};
pub use token::{TokenList, Tokens};

pub(crate) use crate::cats::quoted;

/// A key or value that does not parse: where, what was expected, what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: expected {expected}, got {got}")]
pub struct PolicyError {
    /// The etcd key (quoted), or `value of <key>`.
    pub at: String,
    /// What was expected.
    pub expected: String,
    /// What was found (quoted and cut to 64 characters; never key material).
    pub got: String,
}

impl PolicyError {
    /// An error about the key itself.
    pub(crate) fn key(key: &str, expected: impl Into<String>, got: impl Into<String>) -> Self {
        PolicyError {
            at: format!("key {}", quoted(key)),
            expected: expected.into(),
            got: got.into(),
        }
    }

    /// An error about the value of `key`.
    pub(crate) fn value(key: &str, expected: impl Into<String>, got: impl Into<String>) -> Self {
        PolicyError {
            at: format!("value of {}", quoted(key)),
            expected: expected.into(),
            got: got.into(),
        }
    }
}

/// Splits `key` after `prefix` (which ends with `/`) into its `/`-separated segments.
pub(crate) fn segments<'a>(key: &'a str, prefix: &str) -> Option<Vec<&'a str>> {
    key.strip_prefix(prefix)
        .map(|rest| rest.split('/').collect())
}

/// A name from a key segment: 1..=`max` bytes of ASCII letters, digits and `._:@-`.
pub(crate) fn is_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'@' | b'-'))
}

/// Which compiled output a change affects (what to recompile and republish).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Affects {
    /// Token lists (tokens, identities, group policies): `[tables.srou]` token fields.
    Tokens,
    /// A key ring (no table today).
    Keys,
    /// Route control: SRoU policies and overlay routes.
    Control,
}

/// Every policy the etcd side mirrors.
#[derive(Debug, Clone)]
pub struct PolicyState {
    /// Tokens, identities and group policies.
    pub access: AccessPolicy,
    /// Key rings by scope.
    pub keys: KeyRings,
    /// Route-control rules.
    pub control: ControlRules,
}

const FAMILIES: &str = "a key under /token/, /identity/, /policy/, /key/ or /control/";

impl PolicyState {
    /// Empty state; keys replaced in a rekey stay accepted for `rekey_window`.
    pub fn new(rekey_window: Duration) -> PolicyState {
        PolicyState {
            access: AccessPolicy::default(),
            keys: KeyRings::new(rekey_window),
            control: ControlRules::default(),
        }
    }

    /// Applies an etcd put. On error nothing changes.
    pub fn put(&mut self, key: &str, value: &str, now: Instant) -> Result<Affects, PolicyError> {
        if key.starts_with(token::PREFIX) {
            let (list, id) = token::parse_key(key)?;
            self.access.tokens.insert(list, id);
            Ok(Affects::Tokens)
        } else if key.starts_with(access::IDENTITY_PREFIX) {
            let (user, device) = access::parse_identity_key(key)?;
            let groups = access::parse_groups(key, value)?;
            self.access.set_identity(user, device, groups);
            Ok(Affects::Tokens)
        } else if key.starts_with(access::POLICY_PREFIX) {
            let (src, dst) = access::parse_policy_key(key)?;
            let action = access::parse_action(key, value)?;
            self.access.set_rule(src, dst, action);
            Ok(Affects::Tokens)
        } else if key.starts_with(keys::PREFIX) {
            let scope = keys::parse_key_path(key)?;
            let list = keys::parse_key_value(key, value)?;
            self.keys.set(scope, list, now);
            Ok(Affects::Keys)
        } else if key.starts_with(control::PREFIX) {
            let k = control::parse_key(key)?;
            let action = control::parse_action(key, value)?;
            self.control.insert(k, action);
            Ok(Affects::Control)
        } else {
            Err(PolicyError::key(key, FAMILIES, quoted(key)))
        }
    }

    /// Applies an etcd delete (or lease expiry): the entry is forgotten (a key ring is
    /// revoked at once). Deleting what is not there is not an error; a malformed key is.
    pub fn delete(&mut self, key: &str) -> Result<Affects, PolicyError> {
        if key.starts_with(token::PREFIX) {
            let (list, id) = token::parse_key(key)?;
            self.access.tokens.remove(list, &id);
            Ok(Affects::Tokens)
        } else if key.starts_with(access::IDENTITY_PREFIX) {
            let (user, device) = access::parse_identity_key(key)?;
            self.access.remove_identity(&user, &device);
            Ok(Affects::Tokens)
        } else if key.starts_with(access::POLICY_PREFIX) {
            let (src, dst) = access::parse_policy_key(key)?;
            self.access.remove_rule(&src, &dst);
            Ok(Affects::Tokens)
        } else if key.starts_with(keys::PREFIX) {
            let scope = keys::parse_key_path(key)?;
            self.keys.revoke(&scope);
            Ok(Affects::Keys)
        } else if key.starts_with(control::PREFIX) {
            let k = control::parse_key(key)?;
            self.control.remove(&k);
            Ok(Affects::Control)
        } else {
            Err(PolicyError::key(key, FAMILIES, quoted(key)))
        }
    }
}

#[cfg(test)]
mod tests;
