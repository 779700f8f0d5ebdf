//! User identities and group policies (seed `000_*`, "User identity"), compiled down to
//! per-token decisions for `TokenAcl`.
//!
//! - `/identity/<userid>/<device_id>` = `"<tag>[,<tag>...]"`: the device's Flow ID (hex,
//!   1 to 16 bytes, as in `/token/...`) carries the user's group tags. Tags are separated
//!   by commas and/or spaces; each is 1 to 64 ASCII letters, digits or `._:@-`.
//! - `/policy/<src_grp>/<dst_grp>` = `"<verdict>[,log]"`: the verdict is `permit` (alias
//!   `allow`) or `deny` (aliases `drop`, `block`); `log` asks the control plane to report
//!   (tracing, info level) every token the rule decides, when the decision is compiled —
//!   the data plane has no per-rule logging. Anything else is an error.
//!
//! # Decision for one token at a node serving destination groups `D`
//!
//! Tokens considered: every token listed under `/token/...` or bound to an identity. In
//! order, the first that applies decides:
//! 1. on `/token/block` → **block**;
//! 2. bound to more than one user (two identities claim one Flow ID) → **block**: an
//!    ambiguous identity fails closed;
//! 3. a `deny` rule `(g, d)` with `g` one of its groups and `d ∈ D` → **block**;
//! 4. on `/token/permit` → **permit**;
//! 5. a `permit` rule `(g, d)`, `g` one of its groups, `d ∈ D` → **permit**;
//! 6. otherwise no entry: the ACL mode decides (block-only: passes; permit-only: refused).
//!
//! Deny beats permit at every level (the data plane's "block wins"). Permit rules only
//! matter in permit-only mode, where they grant access without listing each token.
//!
//! `D` is the caller's: a node's own configuration, or its own identity
//! (`/identity/<SystemName>/<its token>` = its groups, read with
//! [`AccessPolicy::groups_of_user`]), which also gives the node's own flows their groups.

use core::fmt;
use core::str::FromStr;
use std::collections::{BTreeMap, BTreeSet};

use fwd_core::srou::FlowId;

use super::token::{parse_token, Tokens};
use super::{is_name, quoted, segments, PolicyError};

/// Where identities live.
pub const IDENTITY_PREFIX: &str = "/identity/";
/// Where group policies live.
pub const POLICY_PREFIX: &str = "/policy/";
/// Longest group tag.
pub const MAX_TAG_LEN: usize = 64;
/// Longest user ID.
pub const MAX_USER_LEN: usize = 128;
/// Most group tags one identity carries.
pub const MAX_TAGS: usize = 64;

const TAG_EXPECTED: &str = "a group tag of 1 to 64 ASCII letters, digits or `._:@-`";

/// A group policy tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupTag(String);

impl GroupTag {
    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for GroupTag {
    type Err = PolicyError;

    /// 1 to 64 ASCII letters, digits or `._:@-`.
    fn from_str(s: &str) -> Result<Self, PolicyError> {
        if is_name(s, MAX_TAG_LEN) {
            Ok(GroupTag(s.to_string()))
        } else {
            Err(PolicyError {
                at: "group tag".into(),
                expected: TAG_EXPECTED.into(),
                got: quoted(s),
            })
        }
    }
}

/// What a group policy does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// The flow may pass.
    Permit,
    /// The flow is blocked.
    Deny,
}

/// The value of `/policy/<src>/<dst>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupAction {
    /// Permit or deny.
    pub verdict: Verdict,
    /// Report the tokens this rule decides.
    pub log: bool,
}

/// Parses `/identity/<userid>/<device_id>`.
pub fn parse_identity_key(key: &str) -> Result<(String, FlowId), PolicyError> {
    let shape = "/identity/<userid>/<device_id>";
    let seg =
        segments(key, IDENTITY_PREFIX).ok_or_else(|| PolicyError::key(key, shape, quoted(key)))?;
    let [user, device] = seg.as_slice() else {
        return Err(PolicyError::key(key, shape, quoted(key)));
    };
    if !is_name(user, MAX_USER_LEN) {
        return Err(PolicyError::key(
            key,
            "a user ID of 1 to 128 ASCII letters, digits or `._:@-`",
            quoted(user),
        ));
    }
    let device = parse_token(device).ok_or_else(|| {
        PolicyError::key(
            key,
            "a device ID that is a hex Flow ID of 1 to 16 bytes, e.g. 0x000123",
            quoted(device),
        )
    })?;
    Ok((user.to_string(), device))
}

/// Parses the group tags of an identity (the value of `key`).
pub fn parse_groups(key: &str, value: &str) -> Result<BTreeSet<GroupTag>, PolicyError> {
    let mut out = BTreeSet::new();
    for t in value
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
    {
        if !is_name(t, MAX_TAG_LEN) {
            return Err(PolicyError::value(key, TAG_EXPECTED, quoted(t)));
        }
        out.insert(GroupTag(t.to_string()));
        if out.len() > MAX_TAGS {
            return Err(PolicyError::value(
                key,
                format!("at most {MAX_TAGS} group tags"),
                "more",
            ));
        }
    }
    if out.is_empty() {
        return Err(PolicyError::value(
            key,
            "at least one group tag, e.g. \"staff,finance\"",
            quoted(value),
        ));
    }
    Ok(out)
}

/// Parses `/policy/<src_grp>/<dst_grp>`.
pub fn parse_policy_key(key: &str) -> Result<(GroupTag, GroupTag), PolicyError> {
    let shape = "/policy/<src_grp>/<dst_grp>";
    let seg =
        segments(key, POLICY_PREFIX).ok_or_else(|| PolicyError::key(key, shape, quoted(key)))?;
    let [src, dst] = seg.as_slice() else {
        return Err(PolicyError::key(key, shape, quoted(key)));
    };
    let tag = |t: &str| {
        if is_name(t, MAX_TAG_LEN) {
            Ok(GroupTag(t.to_string()))
        } else {
            Err(PolicyError::key(key, TAG_EXPECTED, quoted(t)))
        }
    };
    Ok((tag(src)?, tag(dst)?))
}

/// Parses the actions of a group policy (the value of `key`).
pub fn parse_action(key: &str, value: &str) -> Result<GroupAction, PolicyError> {
    let mut verdict = None;
    let mut log = false;
    for a in value.split(',').map(str::trim) {
        let v = match a.to_ascii_lowercase().as_str() {
            "permit" | "allow" => Verdict::Permit,
            "deny" | "drop" | "block" => Verdict::Deny,
            "log" if !log => {
                log = true;
                continue;
            }
            "log" => return Err(PolicyError::value(key, "`log` once", quoted(value))),
            _ => {
                return Err(PolicyError::value(
                    key,
                    "`permit` or `deny`, optionally with `,log`",
                    quoted(a),
                ))
            }
        };
        if verdict.replace(v).is_some() {
            return Err(PolicyError::value(
                key,
                "one verdict (`permit` or `deny`)",
                quoted(value),
            ));
        }
    }
    let verdict = verdict.ok_or_else(|| {
        PolicyError::value(
            key,
            "a verdict, `permit` or `deny` (optionally with `,log`)",
            quoted(value),
        )
    })?;
    Ok(GroupAction { verdict, log })
}

/// Why a token got its decision.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Listed under `/token/block`.
    TokenBlocked,
    /// Bound to several users.
    IdentityConflict {
        /// The users claiming it.
        users: Vec<String>,
    },
    /// A `deny` group policy.
    GroupDeny {
        /// The token's group.
        src: GroupTag,
        /// The node's group.
        dst: GroupTag,
    },
    /// Listed under `/token/permit`.
    TokenPermitted,
    /// A `permit` group policy.
    GroupPermit {
        /// The token's group.
        src: GroupTag,
        /// The node's group.
        dst: GroupTag,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::TokenBlocked => f.write_str("on /token/block"),
            Reason::IdentityConflict { users } => {
                write!(f, "claimed by several users ({})", users.join(", "))
            }
            Reason::GroupDeny { src, dst } => write!(f, "/policy/{src}/{dst} denies"),
            Reason::TokenPermitted => f.write_str("on /token/permit"),
            Reason::GroupPermit { src, dst } => write!(f, "/policy/{src}/{dst} permits"),
        }
    }
}

/// The decision for one token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decision {
    /// The token (Flow ID).
    pub token: FlowId,
    /// Permit or deny (block).
    pub verdict: Verdict,
    /// Why.
    pub reason: Reason,
    /// The deciding group policy asked for `log`.
    pub log: bool,
}

/// The per-token lists for one node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessDecisions {
    /// Permitted tokens (none of them blocked).
    pub permit: BTreeSet<FlowId>,
    /// Blocked tokens.
    pub block: BTreeSet<FlowId>,
    /// Every decision with its reason, by token.
    pub decisions: Vec<Decision>,
}

/// Tokens, identities and group policies as etcd holds them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessPolicy {
    /// `/token/permit` and `/token/block`.
    pub tokens: Tokens,
    identities: BTreeMap<(String, FlowId), BTreeSet<GroupTag>>,
    rules: BTreeMap<(GroupTag, GroupTag), GroupAction>,
}

impl AccessPolicy {
    /// Binds `device` of `user` to `groups` (replacing what it had).
    pub fn set_identity(&mut self, user: String, device: FlowId, groups: BTreeSet<GroupTag>) {
        self.identities.insert((user, device), groups);
    }

    /// Forgets an identity; false if unknown.
    pub fn remove_identity(&mut self, user: &str, device: &FlowId) -> bool {
        self.identities
            .remove(&(user.to_string(), *device))
            .is_some()
    }

    /// Sets the policy from `src` to `dst`.
    pub fn set_rule(&mut self, src: GroupTag, dst: GroupTag, action: GroupAction) {
        self.rules.insert((src, dst), action);
    }

    /// Forgets a policy; false if unknown.
    pub fn remove_rule(&mut self, src: &GroupTag, dst: &GroupTag) -> bool {
        self.rules.remove(&(src.clone(), dst.clone())).is_some()
    }

    /// The groups of a device, if bound to exactly one user.
    pub fn groups_of(&self, device: &FlowId) -> Option<&BTreeSet<GroupTag>> {
        let mut it = self.identities.iter().filter(|((_, d), _)| d == device);
        match (it.next(), it.next()) {
            (Some((_, g)), None) => Some(g),
            _ => None,
        }
    }

    /// The union of the groups of every device of `user`. A node can take its
    /// destination groups from its own identity, `/identity/<SystemName>/<its token>`.
    pub fn groups_of_user(&self, user: &str) -> BTreeSet<GroupTag> {
        self.identities
            .iter()
            .filter(|((u, _), _)| u == user)
            .flat_map(|(_, g)| g.iter().cloned())
            .collect()
    }

    /// The first rule of `verdict` from one of `groups` to one of `local` (in tag order).
    fn rule(
        &self,
        groups: &BTreeSet<GroupTag>,
        local: &BTreeSet<GroupTag>,
        verdict: Verdict,
    ) -> Option<(GroupTag, GroupTag, GroupAction)> {
        groups.iter().find_map(|g| {
            local.iter().find_map(|d| {
                let key = (g.clone(), d.clone());
                let a = *self.rules.get(&key).filter(|a| a.verdict == verdict)?;
                Some((key.0, key.1, a))
            })
        })
    }

    /// The per-token decisions at a node serving `local_groups` (module documentation).
    pub fn decide(&self, local_groups: &BTreeSet<GroupTag>) -> AccessDecisions {
        let mut users: BTreeMap<FlowId, Vec<(&str, &BTreeSet<GroupTag>)>> = BTreeMap::new();
        for ((user, device), groups) in &self.identities {
            users.entry(*device).or_default().push((user, groups));
        }
        let tokens: BTreeSet<FlowId> = self
            .tokens
            .permitted()
            .iter()
            .chain(self.tokens.blocked())
            .chain(users.keys())
            .copied()
            .collect();
        let empty = BTreeSet::new();
        let mut out = AccessDecisions::default();
        for token in tokens {
            let claims = users.get(&token).map_or(&[][..], Vec::as_slice);
            let groups = match claims {
                [(_, g)] => *g,
                _ => &empty,
            };
            let decided = if self.tokens.blocked().contains(&token) {
                Some((Verdict::Deny, Reason::TokenBlocked, false))
            } else if claims.len() > 1 {
                let users = claims.iter().map(|(u, _)| u.to_string()).collect();
                Some((Verdict::Deny, Reason::IdentityConflict { users }, false))
            } else if let Some((src, dst, a)) = self.rule(groups, local_groups, Verdict::Deny) {
                Some((Verdict::Deny, Reason::GroupDeny { src, dst }, a.log))
            } else if self.tokens.permitted().contains(&token) {
                Some((Verdict::Permit, Reason::TokenPermitted, false))
            } else if let Some((src, dst, a)) = self.rule(groups, local_groups, Verdict::Permit) {
                Some((Verdict::Permit, Reason::GroupPermit { src, dst }, a.log))
            } else {
                None
            };
            if let Some((verdict, reason, log)) = decided {
                match verdict {
                    Verdict::Permit => out.permit.insert(token),
                    Verdict::Deny => out.block.insert(token),
                };
                out.decisions.push(Decision {
                    token,
                    verdict,
                    reason,
                    log,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::token::TokenList;

    fn fid(b: u8) -> FlowId {
        FlowId::new(&[0, b]).unwrap()
    }

    fn tags(s: &str) -> BTreeSet<GroupTag> {
        parse_groups("/identity/x/01", s).unwrap()
    }

    fn tag(s: &str) -> GroupTag {
        s.parse().unwrap()
    }

    fn act(s: &str) -> GroupAction {
        parse_action("/policy/a/b", s).unwrap()
    }

    #[test]
    fn parses_identities_and_policies() {
        assert_eq!(
            parse_identity_key("/identity/alice@corp/0x0001"),
            Ok(("alice@corp".to_string(), fid(1)))
        );
        let e = |k: &str| parse_identity_key(k).unwrap_err().to_string();
        assert_eq!(
            e("/identity/alice/laptop"),
            "key \"/identity/alice/laptop\": expected a device ID that is a hex Flow ID of 1 \
             to 16 bytes, e.g. 0x000123, got \"laptop\""
        );
        assert!(e("/identity/al ice/01").contains("expected a user ID of 1 to 128"));
        assert!(e("/identity//01").contains("expected a user ID"));
        assert!(e("/identity/alice").contains("expected /identity/<userid>/<device_id>"));
        assert!(e("/identity/a/01/x").contains("expected /identity/<userid>/<device_id>"));

        assert_eq!(
            tags(" staff, finance  eng,staff"),
            BTreeSet::from([tag("eng"), tag("finance"), tag("staff")])
        );
        let e = |v: &str| parse_groups("/identity/a/01", v).unwrap_err().to_string();
        assert_eq!(
            e(" , "),
            "value of \"/identity/a/01\": expected at least one group tag, e.g. \
             \"staff,finance\", got \" , \""
        );
        assert!(e("staff;finance").contains("expected a group tag of 1 to 64"));
        assert!(e(&"x".repeat(65)).contains("expected a group tag"));
        let many: Vec<String> = (0..65).map(|i| format!("g{i}")).collect();
        assert!(e(&many.join(",")).contains("at most 64 group tags"));

        assert_eq!(
            parse_policy_key("/policy/staff/db"),
            Ok((tag("staff"), tag("db")))
        );
        let e = |k: &str| parse_policy_key(k).unwrap_err().to_string();
        assert!(e("/policy/staff").contains("expected /policy/<src_grp>/<dst_grp>"));
        assert!(e("/policy/staff/d b").contains("expected a group tag"));
        assert!("".parse::<GroupTag>().is_err());

        assert_eq!(
            act("permit"),
            GroupAction {
                verdict: Verdict::Permit,
                log: false
            }
        );
        assert_eq!(
            act(" Deny , log"),
            GroupAction {
                verdict: Verdict::Deny,
                log: true
            }
        );
        assert_eq!(act("log,allow").verdict, Verdict::Permit);
        assert_eq!(act("drop").verdict, Verdict::Deny);
        assert_eq!(act("block").verdict, Verdict::Deny);
        let e = |v: &str| parse_action("/policy/a/b", v).unwrap_err().to_string();
        assert_eq!(
            e("permit,deny"),
            "value of \"/policy/a/b\": expected one verdict (`permit` or `deny`), got \
             \"permit,deny\""
        );
        assert!(e("log").contains("expected a verdict"));
        assert!(e("").contains("`permit` or `deny`, optionally with `,log`"));
        assert!(e("deny,log,log").contains("`log` once"));
        assert!(e("redirect").contains("got \"redirect\""));
    }

    #[test]
    fn decisions_follow_the_documented_order() {
        let mut p = AccessPolicy::default();
        // alice (staff) 01, bob (staff, contractor) 02, carol (finance) 03, dave 04 on
        // no list, eve and mallory both claim 05.
        p.set_identity("alice".into(), fid(1), tags("staff"));
        p.set_identity("bob".into(), fid(2), tags("staff,contractor"));
        p.set_identity("carol".into(), fid(3), tags("finance"));
        p.set_identity("eve".into(), fid(5), tags("finance"));
        p.set_identity("mallory".into(), fid(5), tags("staff"));
        p.set_rule(tag("staff"), tag("db"), act("permit"));
        p.set_rule(tag("contractor"), tag("db"), act("deny,log"));
        p.set_rule(tag("finance"), tag("ledger"), act("permit"));
        p.tokens.insert(TokenList::Permit, fid(4));
        p.tokens.insert(TokenList::Permit, fid(3));
        p.tokens.insert(TokenList::Block, fid(1));

        let d = p.decide(&BTreeSet::from([tag("db")]));
        let by = |t: u8| d.decisions.iter().find(|x| x.token == fid(t)).cloned();
        assert_eq!(by(1).unwrap().reason, Reason::TokenBlocked);
        let b = by(2).unwrap();
        assert_eq!(
            (b.verdict, b.log, b.reason.to_string()),
            (
                Verdict::Deny,
                true,
                "/policy/contractor/db denies".to_string()
            )
        );
        assert_eq!(by(3).unwrap().reason, Reason::TokenPermitted);
        assert_eq!(by(4).unwrap().reason, Reason::TokenPermitted);
        assert_eq!(
            by(5).unwrap().reason.to_string(),
            "claimed by several users (eve, mallory)"
        );
        assert_eq!(d.block, BTreeSet::from([fid(1), fid(2), fid(5)]));
        assert_eq!(d.permit, BTreeSet::from([fid(3), fid(4)]));

        // A node serving the ledger: carol permitted by her group; alice still blocked by
        // her token; bob has no rule there: no entry.
        let d = p.decide(&BTreeSet::from([tag("ledger")]));
        assert_eq!(d.permit, BTreeSet::from([fid(3), fid(4)]));
        assert!(d.decisions.iter().all(|x| x.token != fid(2)));
        p.tokens.remove(TokenList::Permit, &fid(3));
        let d = p.decide(&BTreeSet::from([tag("ledger")]));
        assert_eq!(
            d.decisions
                .iter()
                .find(|x| x.token == fid(3))
                .unwrap()
                .reason,
            Reason::GroupPermit {
                src: tag("finance"),
                dst: tag("ledger")
            }
        );

        // A node serving both: bob's deny towards db blocks him there entirely.
        let d = p.decide(&BTreeSet::from([tag("db"), tag("ledger")]));
        assert!(d.block.contains(&fid(2)));
        // A group deny beats an explicit permit.
        p.tokens.insert(TokenList::Permit, fid(2));
        assert!(p
            .decide(&BTreeSet::from([tag("db")]))
            .block
            .contains(&fid(2)));
        // A transit node (no groups) applies the token lists only.
        let d = p.decide(&BTreeSet::new());
        assert_eq!(d.block, BTreeSet::from([fid(1), fid(5)]));
        assert_eq!(d.permit, BTreeSet::from([fid(2), fid(4)]));

        p.set_identity("r1".into(), fid(0x71), tags("db"));
        p.set_identity("r1".into(), fid(0x72), tags("ledger,db"));
        assert_eq!(p.groups_of_user("r1"), tags("db,ledger"));
        assert!(p.groups_of_user("nobody").is_empty());

        // Resolving the conflict unblocks 05 (eve, finance: nothing towards db).
        assert!(p.remove_identity("mallory", &fid(5)));
        assert!(!p.remove_identity("mallory", &fid(5)));
        assert_eq!(p.groups_of(&fid(5)), Some(&tags("finance")));
        assert!(!p
            .decide(&BTreeSet::from([tag("db")]))
            .block
            .contains(&fid(5)));
        assert!(p.remove_rule(&tag("contractor"), &tag("db")));
        assert!(!p.remove_rule(&tag("contractor"), &tag("db")));
        assert!(!p
            .decide(&BTreeSet::from([tag("db")]))
            .block
            .contains(&fid(2)));
    }
}
