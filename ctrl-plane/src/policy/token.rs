//! Token access control (seed `000_*`, "Access Control"): `/token/permit/<flowid>` and
//! `/token/block/<flowid>`. The Flow ID is hex (`0x000123` or `000123`, an even number of
//! digits, 1 to 16 bytes: what `TokenAcl` can hold); the value is ignored (a grant is the
//! key's presence; its lease bounds its life). A token on both lists is blocked.

use std::collections::BTreeSet;

use fwd_core::srou::config::parse_flow_id;
use fwd_core::srou::FlowId;

use super::{quoted, segments, PolicyError};

/// Where token keys live.
pub const PREFIX: &str = "/token/";

/// Which list a token key puts its Flow ID on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenList {
    /// `/token/permit/...`.
    Permit,
    /// `/token/block/...` (wins).
    Block,
}

/// Parses a hex Flow ID of 1 to 16 bytes; `None` otherwise.
pub fn parse_token(s: &str) -> Option<FlowId> {
    parse_flow_id(s).filter(|f| !f.is_empty())
}

/// Writes a Flow ID as `SrouConfig` reads it: `0x` and two lowercase digits per byte.
pub fn format_token(id: &FlowId) -> String {
    let mut s = String::with_capacity(2 + 2 * id.len());
    s.push_str("0x");
    for b in id.as_bytes() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Parses `/token/permit/<flowid>` or `/token/block/<flowid>`.
pub fn parse_key(key: &str) -> Result<(TokenList, FlowId), PolicyError> {
    let shape = "/token/permit/<flowid> or /token/block/<flowid>";
    let seg = segments(key, PREFIX).ok_or_else(|| PolicyError::key(key, shape, quoted(key)))?;
    let [list, id] = seg.as_slice() else {
        return Err(PolicyError::key(key, shape, quoted(key)));
    };
    let list = match *list {
        "permit" => TokenList::Permit,
        "block" => TokenList::Block,
        other => {
            return Err(PolicyError::key(
                key,
                "`permit` or `block` after /token/",
                quoted(other),
            ))
        }
    };
    let id = parse_token(id).ok_or_else(|| {
        PolicyError::key(
            key,
            "a hex Flow ID of 1 to 16 bytes (an even number of digits), e.g. 0x000123",
            quoted(id),
        )
    })?;
    Ok((list, id))
}

/// The permit and block sets as etcd holds them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tokens {
    permit: BTreeSet<FlowId>,
    block: BTreeSet<FlowId>,
}

impl Tokens {
    /// Adds `id` to `list`; false if it was there.
    pub fn insert(&mut self, list: TokenList, id: FlowId) -> bool {
        match list {
            TokenList::Permit => self.permit.insert(id),
            TokenList::Block => self.block.insert(id),
        }
    }

    /// Removes `id` from `list`; false if it was not there.
    pub fn remove(&mut self, list: TokenList, id: &FlowId) -> bool {
        match list {
            TokenList::Permit => self.permit.remove(id),
            TokenList::Block => self.block.remove(id),
        }
    }

    /// Tokens on the permit list (blocked ones included).
    pub fn permitted(&self) -> &BTreeSet<FlowId> {
        &self.permit
    }

    /// Tokens on the block list.
    pub fn blocked(&self) -> &BTreeSet<FlowId> {
        &self.block
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fid(b: &[u8]) -> FlowId {
        FlowId::new(b).unwrap()
    }

    #[test]
    fn parses_token_keys() {
        assert_eq!(
            parse_key("/token/permit/0x000123"),
            Ok((TokenList::Permit, fid(&[0, 1, 0x23])))
        );
        assert_eq!(
            parse_key("/token/block/DEADbeef"),
            Ok((TokenList::Block, fid(&[0xde, 0xad, 0xbe, 0xef])))
        );
        let max = format!("/token/block/{}", "ab".repeat(16));
        assert_eq!(parse_key(&max).unwrap().1.len(), 16);

        let e = |k: &str| parse_key(k).unwrap_err().to_string();
        assert_eq!(
            e("/token/allow/0x01"),
            "key \"/token/allow/0x01\": expected `permit` or `block` after /token/, got \"allow\""
        );
        assert_eq!(
            e("/token/permit/0x123"),
            "key \"/token/permit/0x123\": expected a hex Flow ID of 1 to 16 bytes (an even \
             number of digits), e.g. 0x000123, got \"0x123\""
        );
        for bad in [
            "/token/permit/",
            "/token/permit/0x",
            "/token/permit/zz",
            &format!("/token/permit/{}", "ab".repeat(17)),
            "/token/permit/+1",
        ] {
            assert!(e(bad).contains("expected a hex Flow ID"), "{bad}");
        }
        for bad in [
            "/token/permit",
            "/token/permit/01/02",
            "/token/",
            "/tokens/permit/01",
        ] {
            assert!(
                e(bad).contains("expected /token/permit/<flowid> or /token/block/<flowid>"),
                "{bad}: {}",
                e(bad)
            );
        }
    }

    #[test]
    fn formats_as_srou_config_reads() {
        let id = fid(&[0, 1, 0xab]);
        assert_eq!(format_token(&id), "0x0001ab");
        assert_eq!(parse_flow_id(&format_token(&id)), Some(id));
        let mut t = Tokens::default();
        assert!(t.insert(TokenList::Permit, id));
        assert!(!t.insert(TokenList::Permit, id));
        assert!(t.insert(TokenList::Block, id));
        assert_eq!(t.permitted().len(), 1);
        assert!(t.remove(TokenList::Block, &id));
        assert!(!t.remove(TokenList::Block, &id));
        assert!(t.blocked().is_empty());
    }
}
