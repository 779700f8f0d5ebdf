//! Token access control on the SRoU Flow ID (seed 000: `/token/permit/<flowid>` and
//! `/token/block/<flowid>`).
//!
//! Two sets of tokens and a mode:
//! - [`AclMode::BlockOnly`] (the default): every flow passes unless its Flow ID is on the
//!   block list;
//! - [`AclMode::PermitOnly`]: only Flow IDs on the permit list pass.
//!
//! The block list wins in both modes: a token on both lists is blocked (revocation before
//! expiry). Flow IDs longer than [`MAX_FLOW_ID_LEN`] cannot be on either list: they pass in
//! block-only mode and are refused in permit-only mode.
//!
//! Lookups hash a fixed-size inline [`FlowId`]: no allocation per packet; an empty set is
//! not even hashed.

use std::collections::HashSet;

use super::tables::{FlowId, FxBuildHasher, MAX_FLOW_ID_LEN};
use crate::drop::DropReason;

/// How the token lists are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AclMode {
    /// Everything passes except blocked tokens.
    #[default]
    BlockOnly,
    /// Only permitted tokens pass (blocked ones never).
    PermitOnly,
}

/// The decision for one Flow ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenDecision {
    /// The flow may pass.
    Permitted,
    /// On the block list: [`DropReason::SrouTokenBlocked`].
    Blocked,
    /// Permit-only mode and not on the permit list: [`DropReason::SrouTokenNotPermitted`].
    NotPermitted,
}

impl TokenDecision {
    /// `Ok` when permitted, else the drop reason the packet is counted under.
    #[inline]
    pub const fn result(self) -> Result<(), DropReason> {
        match self {
            TokenDecision::Permitted => Ok(()),
            TokenDecision::Blocked => Err(DropReason::SrouTokenBlocked),
            TokenDecision::NotPermitted => Err(DropReason::SrouTokenNotPermitted),
        }
    }
}

/// The permit and block lists and the mode. Immutable once built into
/// [`super::SrouTables`].
#[derive(Debug, Clone, Default)]
pub struct TokenAcl {
    mode: AclMode,
    permit: HashSet<FlowId, FxBuildHasher>,
    block: HashSet<FlowId, FxBuildHasher>,
}

impl TokenAcl {
    /// Empty lists in `mode`.
    pub fn new(mode: AclMode) -> TokenAcl {
        TokenAcl {
            mode,
            ..TokenAcl::default()
        }
    }

    /// The mode.
    pub fn mode(&self) -> AclMode {
        self.mode
    }

    /// Adds a token to the permit list.
    pub fn permit(&mut self, token: FlowId) {
        self.permit.insert(token);
    }

    /// Adds a token to the block list.
    pub fn block(&mut self, token: FlowId) {
        self.block.insert(token);
    }

    /// Number of tokens on the permit and block lists.
    pub fn len(&self) -> (usize, usize) {
        (self.permit.len(), self.block.len())
    }

    /// True when both lists are empty.
    pub fn is_empty(&self) -> bool {
        self.permit.is_empty() && self.block.is_empty()
    }

    /// Decides for the Flow ID bytes of a packet.
    #[inline(always)]
    pub fn check(&self, flow_id: &[u8]) -> TokenDecision {
        // The common case (no list in use) decides without reading the Flow ID, inline.
        if self.mode == AclMode::BlockOnly && self.block.is_empty() {
            return TokenDecision::Permitted;
        }
        self.check_lists(flow_id)
    }

    /// [`TokenAcl::check`] when a list is in use: hashes the Flow ID.
    #[inline(never)]
    fn check_lists(&self, flow_id: &[u8]) -> TokenDecision {
        let key = FlowId::new(flow_id);
        if !self.block.is_empty() {
            if let Some(k) = &key {
                if self.block.contains(k) {
                    return TokenDecision::Blocked;
                }
            }
        }
        match self.mode {
            AclMode::BlockOnly => TokenDecision::Permitted,
            AclMode::PermitOnly => match &key {
                Some(k) if self.permit.contains(k) => TokenDecision::Permitted,
                _ => TokenDecision::NotPermitted,
            },
        }
    }
}

/// The longest Flow ID a list can hold, re-exported for callers.
pub const MAX_TOKEN_LEN: usize = MAX_FLOW_ID_LEN;

#[cfg(test)]
mod tests {
    use super::*;

    fn fid(b: &[u8]) -> FlowId {
        FlowId::new(b).expect("short flow id")
    }

    #[test]
    fn block_only_passes_all_but_blocked() {
        let mut acl = TokenAcl::new(AclMode::BlockOnly);
        assert_eq!(acl.check(&[1, 2, 3]), TokenDecision::Permitted);
        acl.block(fid(&[1, 2, 3]));
        assert_eq!(acl.check(&[1, 2, 3]), TokenDecision::Blocked);
        assert_eq!(acl.check(&[1, 2]), TokenDecision::Permitted);
        assert_eq!(acl.check(&[1, 2, 3, 0]), TokenDecision::Permitted);
        assert_eq!(acl.check(&[]), TokenDecision::Permitted);
        assert_eq!(acl.check(&[0u8; 40]), TokenDecision::Permitted);
        assert_eq!(
            TokenDecision::Blocked.result(),
            Err(DropReason::SrouTokenBlocked)
        );
    }

    #[test]
    fn permit_only_needs_a_permit_and_block_wins() {
        let mut acl = TokenAcl::new(AclMode::PermitOnly);
        assert_eq!(acl.check(&[7]), TokenDecision::NotPermitted);
        acl.permit(fid(&[7]));
        acl.permit(fid(&[8]));
        acl.block(fid(&[8]));
        assert_eq!(acl.check(&[7]), TokenDecision::Permitted);
        assert_eq!(acl.check(&[8]), TokenDecision::Blocked);
        assert_eq!(acl.check(&[9]), TokenDecision::NotPermitted);
        assert_eq!(acl.check(&[0u8; 17]), TokenDecision::NotPermitted);
        assert_eq!(acl.len(), (2, 1));
        assert_eq!(
            TokenDecision::NotPermitted.result(),
            Err(DropReason::SrouTokenNotPermitted)
        );
        assert_eq!(TokenDecision::Permitted.result(), Ok(()));
    }
}
