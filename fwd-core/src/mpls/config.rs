//! The `[tables.mpls]` section of srgate's configuration: the LFIB, this node's anycast
//! segments and their V-LFIBs, read by serde (unknown fields are errors) and turned into
//! [`MplsTables`] by [`MplsConfig::build`], whose errors name the field and what was
//! expected.
//!
//! Next hops name adjacencies; `build` takes a resolver from name to [`Adjacency`] (the
//! ports and next-hop MACs are configured elsewhere).
//!
//! ```toml
//! [tables.mpls]
//! # This node's SRGB (A1 of the draft's figure 2, "1000-2000"): base and number of labels.
//! srgb = { base = 1000, size = 1001 }
//!
//! # An anycast segment this node provisions: label = srgb.base + index (or give `label`).
//! # Pop it; at the bottom of the stack deliver locally, else look the next label up in
//! # the named V-LFIB.
//! [[tables.mpls.anycast]]
//! index = 100
//! vlfib = "group-a"
//!
//! # The V-LFIB (draft figure 3, device A1): SID index -> forwarding tuples.
//! [[tables.mpls.vlfib]]
//! name = "group-a"
//! entry = [
//!   { sid = 10, paths = [{ adjacency = "a1-r1", labels = [7010] }] },
//!   { sid = 30, paths = [{ adjacency = "a1-a3", labels = [3030] },
//!                        { adjacency = "a1-a4", labels = [4030] }] },
//! ]
//!
//! # Default LFIB entries. action: "swap" (one label per path), "pop" (PHP: no label),
//! # "push" (1..=8 labels per path, the first outermost, replacing the top label),
//! # "forward" (any of these per path), "pop-and-lookup" (no paths: pop, then local
//! # delivery at the bottom or a lookup of the next label). Several paths are ECMP.
//! [[tables.mpls.lfib]]
//! label = 1030
//! action = "swap"
//! paths = [{ adjacency = "a1-a3", labels = [3030] }, { adjacency = "a1-a4", labels = [4030] }]
//! ```

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::adjacency::Adjacency;

use super::label_stack::Srgb;
use super::lfib::{LfibAction, LfibBuilder, NextHop};
use super::vlfib::{VlfibBuilder, VlfibId};
use super::{
    reserved, MplsTables, FIRST_UNRESERVED_LABEL, MAX_ECMP_PATHS, MAX_LABEL, MAX_OUT_LABELS,
    MAX_VLFIBS,
};

/// Where the section sits in srgate's configuration (the root of every field path).
pub const SECTION: &str = "tables.mpls";

/// `[tables.mpls]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MplsConfig {
    /// This node's SRGB; needed by anycast segments given by `index`.
    pub srgb: Option<SrgbConfig>,
    /// `[[tables.mpls.lfib]]`: default LFIB entries.
    #[serde(default)]
    pub lfib: Vec<LfibEntryConfig>,
    /// `[[tables.mpls.anycast]]`: anycast segments this node provisions.
    #[serde(default)]
    pub anycast: Vec<AnycastConfig>,
    /// `[[tables.mpls.vlfib]]`: virtual LFIBs, in [`VlfibId`] order.
    #[serde(default)]
    pub vlfib: Vec<VlfibConfig>,
    /// `[[tables.mpls.swap_block]]`: a block of consecutive labels swapped to a block of
    /// the same size, label by label (how prefix SIDs map one SRGB onto a neighbour's).
    #[serde(default)]
    pub swap_block: Vec<SwapBlockConfig>,
}

/// One `[[tables.mpls.swap_block]]`: labels `first..first + count` are swapped to
/// `out_first..out_first + count` (same offset) towards the ECMP set `adjacencies`.
///
/// ```toml
/// [[tables.mpls.swap_block]]
/// first = 16000          # this node's SRGB base + first SID index
/// count = 8000
/// out_first = 24000      # the neighbour's SRGB base + the same index
/// adjacencies = ["to-r2", "to-r3"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwapBlockConfig {
    /// First incoming label (16 or more).
    pub first: u32,
    /// Number of labels (1 or more; both blocks must end within 20 bits).
    pub count: u32,
    /// Outgoing label of `first`.
    pub out_first: u32,
    /// Next hops (ECMP when several).
    pub adjacencies: Vec<String>,
}

/// `srgb = { base, size }`: labels `base..base + size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SrgbConfig {
    /// First label (16 or more).
    pub base: u32,
    /// Number of labels (1 or more; the block must end within 20 bits).
    pub size: u32,
}

/// One `[[tables.mpls.lfib]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LfibEntryConfig {
    /// The incoming label (16..=1048575).
    pub label: u32,
    /// What to do with it.
    pub action: ActionConfig,
    /// Next hops (ECMP when several); none for `pop-and-lookup`.
    #[serde(default)]
    pub paths: Vec<PathConfig>,
}

/// `action = "..."` of an LFIB entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionConfig {
    /// Every path has exactly one label.
    Swap,
    /// Every path has no label (PHP).
    Pop,
    /// Every path has 1..=8 labels replacing the top one.
    Push,
    /// Each path has 0..=8 labels.
    Forward,
    /// No paths: pop, then deliver locally or look the next label up.
    PopAndLookup,
}

impl ActionConfig {
    fn name(self) -> &'static str {
        match self {
            ActionConfig::Swap => "swap",
            ActionConfig::Pop => "pop",
            ActionConfig::Push => "push",
            ActionConfig::Forward => "forward",
            ActionConfig::PopAndLookup => "pop-and-lookup",
        }
    }
}

/// A next hop: `{ adjacency = "name", labels = [..] }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathConfig {
    /// Name of the adjacency (egress port and MACs).
    pub adjacency: String,
    /// Labels written in place of the label looked up, outermost first (none: pop).
    #[serde(default)]
    pub labels: Vec<u32>,
}

/// One `[[tables.mpls.anycast]]`: exactly one of `label` and `index`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnycastConfig {
    /// The anycast segment label itself.
    pub label: Option<u32>,
    /// The anycast SID index, mapped through `srgb`.
    pub index: Option<u32>,
    /// Name of the V-LFIB that resolves the label under it.
    pub vlfib: String,
}

/// One `[[tables.mpls.vlfib]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VlfibConfig {
    /// Name the anycast segments refer to.
    pub name: String,
    /// Its entries.
    #[serde(default)]
    pub entry: Vec<VlfibEntryConfig>,
}

/// One V-LFIB entry: a SID index and its forwarding tuples.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VlfibEntryConfig {
    /// The SID index (0..=1048575).
    pub sid: u32,
    /// One tuple per shortest path (outgoing label and adjacency); ECMP when several.
    pub paths: Vec<PathConfig>,
}

/// A value of `[tables.mpls]` that cannot be built: the field, what was expected, what was
/// found (the caller adds the file name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: expected {expected}, got {got}")]
pub struct MplsConfigError {
    /// Dotted path of the field, e.g. `tables.mpls.lfib[2].paths[0].adjacency`.
    pub field: String,
    /// What was expected.
    pub expected: String,
    /// What was found.
    pub got: String,
}

fn err(field: &str, expected: impl Into<String>, got: impl ToString) -> MplsConfigError {
    MplsConfigError {
        field: field.to_string(),
        expected: expected.into(),
        got: got.to_string(),
    }
}

/// How many labels each path of an entry must have.
#[derive(Clone, Copy)]
struct LabelCount {
    min: usize,
    max: usize,
    what: &'static str,
}

impl MplsConfig {
    /// Builds the tables, resolving adjacency names with `resolve`.
    pub fn build(
        &self,
        resolve: impl Fn(&str) -> Option<Adjacency>,
    ) -> Result<MplsTables, MplsConfigError> {
        let srgb = self.srgb.map(|s| self.check_srgb(s)).transpose()?;

        // V-LFIBs by name.
        if self.vlfib.len() > MAX_VLFIBS {
            return Err(err(
                &format!("{SECTION}.vlfib"),
                format!("at most {MAX_VLFIBS} V-LFIBs"),
                self.vlfib.len(),
            ));
        }
        let mut vlfib_ids: HashMap<&str, (usize, VlfibId)> = HashMap::new();
        for (i, v) in self.vlfib.iter().enumerate() {
            let field = format!("{SECTION}.vlfib[{i}].name");
            if v.name.is_empty() {
                return Err(err(&field, "a non-empty name", "\"\""));
            }
            if let Some((j, _)) = vlfib_ids.insert(&v.name, (i, VlfibId(i as u16))) {
                return Err(err(
                    &field,
                    format!("a name not used by {SECTION}.vlfib[{j}]"),
                    format!("`{}`", v.name),
                ));
            }
        }

        // Anycast segments into the LFIB first, remembering their SID indexes.
        let mut lfib = LfibBuilder::new();
        let mut used: BTreeMap<u32, String> = BTreeMap::new();
        let mut own_sids: Vec<(u32, VlfibId, usize)> = Vec::new();
        for (i, a) in self.anycast.iter().enumerate() {
            let at = format!("{SECTION}.anycast[{i}]");
            let (label, index) = match (a.label, a.index) {
                (Some(label), None) => {
                    check_in_label(&format!("{at}.label"), label)?;
                    (label, srgb.and_then(|s| s.index_of(label)))
                }
                (None, Some(index)) => {
                    let Some(s) = srgb else {
                        return Err(err(
                            &format!("{SECTION}.srgb"),
                            format!("an SRGB (`srgb = {{ base, size }}`) to map {at}.index"),
                            "none",
                        ));
                    };
                    let label = s.label(index).ok_or_else(|| {
                        err(
                            &format!("{at}.index"),
                            format!("a SID index in 0..{} (the SRGB's size)", s.size),
                            index,
                        )
                    })?;
                    (label, Some(index))
                }
                (Some(_), Some(_)) => {
                    return Err(err(&at, "exactly one of `label` and `index`", "both"))
                }
                (None, None) => {
                    return Err(err(&at, "exactly one of `label` and `index`", "neither"))
                }
            };
            let &(_, id) = vlfib_ids.get(a.vlfib.as_str()).ok_or_else(|| {
                err(
                    &format!("{at}.vlfib"),
                    format!("the name of a [[{SECTION}.vlfib]]"),
                    format!("`{}`", a.vlfib),
                )
            })?;
            claim(&mut used, label, &format!("{at}.label"))?;
            lfib.insert(label, LfibAction::Anycast(id))
                .map_err(|e| err(&at, "a valid anycast segment", e))?;
            if let Some(index) = index {
                own_sids.push((index, id, i));
            }
        }

        for (i, e) in self.lfib.iter().enumerate() {
            let at = format!("{SECTION}.lfib[{i}]");
            check_in_label(&format!("{at}.label"), e.label)?;
            claim(&mut used, e.label, &format!("{at}.label"))?;
            let count = match e.action {
                ActionConfig::Swap => LabelCount {
                    min: 1,
                    max: 1,
                    what: "exactly one label",
                },
                ActionConfig::Pop => LabelCount {
                    min: 0,
                    max: 0,
                    what: "no labels",
                },
                ActionConfig::Push => LabelCount {
                    min: 1,
                    max: MAX_OUT_LABELS,
                    what: "1..=8 labels",
                },
                ActionConfig::Forward => LabelCount {
                    min: 0,
                    max: MAX_OUT_LABELS,
                    what: "0..=8 labels",
                },
                ActionConfig::PopAndLookup => {
                    if !e.paths.is_empty() {
                        return Err(err(
                            &format!("{at}.paths"),
                            "no paths for action `pop-and-lookup`",
                            format!("{} paths", e.paths.len()),
                        ));
                    }
                    lfib.insert(e.label, LfibAction::PopAndLookup)
                        .map_err(|x| err(&at, "a valid entry", x))?;
                    continue;
                }
            };
            let hops = build_paths(&at, &e.paths, count, e.action.name(), &resolve)?;
            lfib.insert(e.label, LfibAction::Forward(hops))
                .map_err(|x| err(&at, "a valid entry", x))?;
        }

        for (i, b) in self.swap_block.iter().enumerate() {
            let at = format!("{SECTION}.swap_block[{i}]");
            if b.count == 0 {
                return Err(err(&format!("{at}.count"), "1 or more labels", 0));
            }
            let last = b.first.saturating_add(b.count - 1);
            let out_last = b.out_first.saturating_add(b.count - 1);
            check_in_label(&format!("{at}.first"), b.first)?;
            check_in_label(&format!("{at}.first + count - 1"), last)?;
            if b.out_first < FIRST_UNRESERVED_LABEL || out_last > MAX_LABEL {
                return Err(err(
                    &format!("{at}.out_first"),
                    format!("a block of {} labels within 16..={MAX_LABEL}", b.count),
                    b.out_first,
                ));
            }
            if let Some((label, owner)) = used.range(b.first..=last).next() {
                return Err(err(
                    &format!("{at}.first"),
                    format!("labels not already used by {owner}"),
                    label,
                ));
            }
            if b.adjacencies.is_empty() || b.adjacencies.len() > MAX_ECMP_PATHS {
                return Err(err(
                    &format!("{at}.adjacencies"),
                    format!("1..={MAX_ECMP_PATHS} adjacency names (an ECMP set)"),
                    b.adjacencies.len(),
                ));
            }
            let mut adjs = Vec::with_capacity(b.adjacencies.len());
            for (j, name) in b.adjacencies.iter().enumerate() {
                adjs.push(resolve(name).ok_or_else(|| {
                    err(
                        &format!("{at}.adjacencies[{j}]"),
                        "the name of an adjacency",
                        format!("`{name}`"),
                    )
                })?);
            }
            for k in 0..b.count {
                let mut hops = Vec::with_capacity(adjs.len());
                for a in &adjs {
                    hops.push(
                        NextHop::swap(*a, b.out_first + k)
                            .map_err(|x| err(&at, "a valid swap", x))?,
                    );
                }
                lfib.insert(b.first + k, LfibAction::Forward(hops))
                    .map_err(|x| err(&at, "a valid entry", x))?;
            }
            // One claim per block keeps later overlap checks cheap.
            used.insert(b.first, at.clone());
            used.insert(last, at);
        }

        let mut vlfibs = Vec::with_capacity(self.vlfib.len());
        for (i, v) in self.vlfib.iter().enumerate() {
            let mut b = VlfibBuilder::new();
            let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
            for (j, e) in v.entry.iter().enumerate() {
                let at = format!("{SECTION}.vlfib[{i}].entry[{j}]");
                let field = format!("{at}.sid");
                if e.sid > MAX_LABEL {
                    return Err(err(
                        &field,
                        format!("a SID index in 0..={MAX_LABEL}"),
                        e.sid,
                    ));
                }
                if let Some(k) = seen.insert(e.sid, j) {
                    return Err(err(
                        &field,
                        format!("a SID index not used by {SECTION}.vlfib[{i}].entry[{k}]"),
                        e.sid,
                    ));
                }
                if let Some((_, _, a)) = own_sids
                    .iter()
                    .find(|(sid, id, _)| *sid == e.sid && id.index() == i)
                {
                    return Err(err(
                        &field,
                        format!(
                            "a SID this node does not provision itself (the draft, 3.2: \
                             {SECTION}.anycast[{a}] is this node's own anycast segment)"
                        ),
                        e.sid,
                    ));
                }
                let count = LabelCount {
                    min: 0,
                    max: MAX_OUT_LABELS,
                    what: "0..=8 labels",
                };
                let hops = build_paths(&at, &e.paths, count, "a V-LFIB tuple", &resolve)?;
                b.insert(e.sid, hops)
                    .map_err(|x| err(&at, "a valid entry", x))?;
            }
            vlfibs.push(b.freeze());
        }

        MplsTables::new(lfib.freeze(), vlfibs)
            .map_err(|e| err(SECTION, "consistent MPLS tables", e))
    }

    fn check_srgb(&self, s: SrgbConfig) -> Result<Srgb, MplsConfigError> {
        let field = format!("{SECTION}.srgb");
        if s.base < FIRST_UNRESERVED_LABEL || s.base > MAX_LABEL {
            return Err(err(
                &format!("{field}.base"),
                format!("a label in {FIRST_UNRESERVED_LABEL}..={MAX_LABEL}"),
                s.base,
            ));
        }
        let room = MAX_LABEL - s.base + 1;
        if s.size == 0 || s.size > room {
            return Err(err(
                &format!("{field}.size"),
                format!("1..={room} (the block must end at label {MAX_LABEL} at most)"),
                s.size,
            ));
        }
        Ok(Srgb::new(s.base, s.size))
    }
}

/// An incoming label: 16..=MAX.
fn check_in_label(field: &str, label: u32) -> Result<(), MplsConfigError> {
    if !(FIRST_UNRESERVED_LABEL..=MAX_LABEL).contains(&label) {
        return Err(err(
            field,
            format!("a label in {FIRST_UNRESERVED_LABEL}..={MAX_LABEL} (0-15 are reserved)"),
            label,
        ));
    }
    Ok(())
}

/// Records that `field` uses `label`, refusing a label already used.
fn claim(used: &mut BTreeMap<u32, String>, label: u32, field: &str) -> Result<(), MplsConfigError> {
    if let Some(other) = used.get(&label) {
        return Err(err(
            field,
            format!("a label not already used by `{other}`"),
            label,
        ));
    }
    used.insert(label, field.to_string());
    Ok(())
}

fn build_paths(
    at: &str,
    paths: &[PathConfig],
    count: LabelCount,
    action: &str,
    resolve: &impl Fn(&str) -> Option<Adjacency>,
) -> Result<Vec<NextHop>, MplsConfigError> {
    if paths.is_empty() || paths.len() > MAX_ECMP_PATHS {
        return Err(err(
            &format!("{at}.paths"),
            format!("1..={MAX_ECMP_PATHS} next hops (an ECMP set)"),
            format!("{} paths", paths.len()),
        ));
    }
    paths
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let here = format!("{at}.paths[{k}]");
            let adjacency = resolve(&p.adjacency).ok_or_else(|| {
                err(
                    &format!("{here}.adjacency"),
                    "the name of an adjacency",
                    format!("`{}`", p.adjacency),
                )
            })?;
            let n = p.labels.len();
            if n < count.min || n > count.max {
                return Err(err(
                    &format!("{here}.labels"),
                    format!("{} for `{action}`", count.what),
                    format!("{n} labels"),
                ));
            }
            for (m, &label) in p.labels.iter().enumerate() {
                if label > MAX_LABEL || label == reserved::IMPLICIT_NULL {
                    return Err(err(
                        &format!("{here}.labels[{m}]"),
                        format!(
                            "a label in 0..={MAX_LABEL} other than 3 (implicit null: give no \
                             label to pop)"
                        ),
                        label,
                    ));
                }
            }
            NextHop::push(adjacency, &p.labels).map_err(|e| err(&here, "a valid next hop", e))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpls::lfib::LfibEntry;
    use serde::de::value::{Error as DeError, MapDeserializer};

    fn resolve(name: &str) -> Option<Adjacency> {
        let port = match name {
            "a1-r1" => 0,
            "a1-a3" => 1,
            "a1-a4" => 2,
            _ => return None,
        };
        Some(Adjacency {
            port,
            ..Adjacency::default()
        })
    }

    fn path(adjacency: &str, labels: &[u32]) -> PathConfig {
        PathConfig {
            adjacency: adjacency.into(),
            labels: labels.to_vec(),
        }
    }

    /// Device A1 of the draft: SRGB 1000-2000, anycast SID 100, figure 3's V-LFIB.
    fn a1() -> MplsConfig {
        MplsConfig {
            swap_block: Vec::new(),
            srgb: Some(SrgbConfig {
                base: 1000,
                size: 1001,
            }),
            anycast: vec![AnycastConfig {
                label: None,
                index: Some(100),
                vlfib: "group-a".into(),
            }],
            vlfib: vec![VlfibConfig {
                name: "group-a".into(),
                entry: vec![
                    VlfibEntryConfig {
                        sid: 10,
                        paths: vec![path("a1-r1", &[7010])],
                    },
                    VlfibEntryConfig {
                        sid: 30,
                        paths: vec![path("a1-a3", &[3030]), path("a1-a4", &[4030])],
                    },
                ],
            }],
            lfib: vec![
                LfibEntryConfig {
                    label: 1030,
                    action: ActionConfig::Swap,
                    paths: vec![path("a1-a3", &[3030]), path("a1-a4", &[4030])],
                },
                LfibEntryConfig {
                    label: 1010,
                    action: ActionConfig::Pop,
                    paths: vec![path("a1-r1", &[])],
                },
                LfibEntryConfig {
                    label: 16000,
                    action: ActionConfig::PopAndLookup,
                    paths: vec![],
                },
                LfibEntryConfig {
                    label: 16001,
                    action: ActionConfig::Push,
                    paths: vec![path("a1-a3", &[3100, 30])],
                },
                LfibEntryConfig {
                    label: 16002,
                    action: ActionConfig::Forward,
                    paths: vec![path("a1-a3", &[3100, 30]), path("a1-r1", &[])],
                },
            ],
        }
    }

    #[test]
    fn builds_a1() {
        let t = a1().build(resolve).unwrap();
        assert_eq!(t.lfib().lookup(1100), Some(LfibEntry::Anycast(VlfibId(0))));
        assert_eq!(t.lfib().lookup(16000), Some(LfibEntry::PopAndLookup));
        let Some(LfibEntry::Forward(hops)) = t.lfib().lookup(1030) else {
            panic!("1030")
        };
        assert_eq!(hops.len(), 2);
        assert_eq!(hops[1].out_labels(), &[4030]);
        assert_eq!(hops[1].adjacency().port, 2);
        let Some(LfibEntry::Forward(hops)) = t.lfib().lookup(16002) else {
            panic!("16002")
        };
        assert!(hops[1].out_labels().is_empty());
        let v = t.vlfib(VlfibId(0)).unwrap();
        assert_eq!(v.lookup(30).unwrap().len(), 2);
        assert_eq!(v.lookup(10).unwrap()[0].out_labels(), &[7010]);
        assert_eq!(t.lfib().len(), 6);
        assert!(MplsConfig::default()
            .build(resolve)
            .unwrap()
            .lfib()
            .is_empty());
    }

    fn build_err(c: &MplsConfig) -> String {
        c.build(resolve).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_field() {
        let mut c = a1();
        c.lfib[0].label = 1 << 20;
        assert_eq!(
            build_err(&c),
            "field `tables.mpls.lfib[0].label`: expected a label in 16..=1048575 (0-15 are \
             reserved), got 1048576"
        );
        c.lfib[0].label = 3;
        assert!(build_err(&c).contains("lfib[0].label"));

        let mut c = a1();
        c.lfib[1].label = 1030;
        assert_eq!(
            build_err(&c),
            "field `tables.mpls.lfib[1].label`: expected a label not already used by \
             `tables.mpls.lfib[0].label`, got 1030"
        );
        let mut c = a1();
        c.lfib[0].label = 1100;
        assert!(build_err(&c).contains("already used by `tables.mpls.anycast[0].label`"));

        let mut c = a1();
        c.lfib[0].paths[1].adjacency = "nowhere".into();
        assert_eq!(
            build_err(&c),
            "field `tables.mpls.lfib[0].paths[1].adjacency`: expected the name of an \
             adjacency, got `nowhere`"
        );

        let mut c = a1();
        c.lfib[0].paths.clear();
        assert_eq!(
            build_err(&c),
            "field `tables.mpls.lfib[0].paths`: expected 1..=64 next hops (an ECMP set), got 0 \
             paths"
        );

        let mut c = a1();
        c.lfib[0].paths[0].labels.push(5);
        assert_eq!(
            build_err(&c),
            "field `tables.mpls.lfib[0].paths[0].labels`: expected exactly one label for \
             `swap`, got 2 labels"
        );
        let mut c = a1();
        c.lfib[1].paths[0].labels.push(5);
        assert!(build_err(&c).contains("expected no labels for `pop`"));
        let mut c = a1();
        c.lfib[3].paths[0].labels = vec![20; 9];
        assert!(build_err(&c).contains("expected 1..=8 labels for `push`, got 9 labels"));
        let mut c = a1();
        c.lfib[2].paths.push(path("a1-r1", &[]));
        assert!(build_err(&c).contains("lfib[2].paths`: expected no paths for action"));

        let mut c = a1();
        c.lfib[0].paths[0].labels = vec![3];
        assert!(build_err(&c).starts_with("field `tables.mpls.lfib[0].paths[0].labels[0]`"));
        c.lfib[0].paths[0].labels = vec![1 << 20];
        assert!(build_err(&c).contains("got 1048576"));
    }

    #[test]
    fn anycast_and_vlfib_errors() {
        let mut c = a1();
        c.anycast[0].vlfib = "group-b".into();
        assert_eq!(
            build_err(&c),
            "field `tables.mpls.anycast[0].vlfib`: expected the name of a \
             [[tables.mpls.vlfib]], got `group-b`"
        );
        let mut c = a1();
        c.anycast[0].label = Some(1100);
        assert!(build_err(&c).contains("`tables.mpls.anycast[0]`: expected exactly one of"));
        c.anycast[0].index = None;
        assert!(c.build(resolve).is_ok(), "label form");
        c.anycast[0].label = None;
        assert!(build_err(&c).ends_with("got neither"));

        let mut c = a1();
        c.anycast[0].index = Some(1001);
        assert_eq!(
            build_err(&c),
            "field `tables.mpls.anycast[0].index`: expected a SID index in 0..1001 (the \
             SRGB's size), got 1001"
        );
        c.srgb = None;
        assert!(build_err(&c).starts_with("field `tables.mpls.srgb`: expected an SRGB"));

        let mut c = a1();
        c.srgb = Some(SrgbConfig { base: 10, size: 5 });
        assert!(build_err(&c).starts_with("field `tables.mpls.srgb.base`"));
        c.srgb = Some(SrgbConfig {
            base: MAX_LABEL,
            size: 2,
        });
        assert!(build_err(&c).starts_with("field `tables.mpls.srgb.size`: expected 1..=1"));

        // The draft, 3.2: no V-LFIB entry for the node's own anycast SID.
        let mut c = a1();
        c.vlfib[0].entry[1].sid = 100;
        assert!(build_err(&c).starts_with("field `tables.mpls.vlfib[0].entry[1].sid`"));
        assert!(build_err(&c).contains("anycast[0]"));
        let mut c = a1();
        c.vlfib[0].entry[1].sid = 10;
        assert!(build_err(&c).contains("not used by tables.mpls.vlfib[0].entry[0]"));
        c.vlfib[0].entry[1].sid = 1 << 20;
        assert!(build_err(&c).contains("expected a SID index in 0..=1048575"));
        let mut c = a1();
        c.vlfib[0].entry[0].paths.clear();
        assert!(build_err(&c).starts_with("field `tables.mpls.vlfib[0].entry[0].paths`"));
        let mut c = a1();
        c.vlfib.push(c.vlfib[0].clone());
        assert!(build_err(&c).starts_with("field `tables.mpls.vlfib[1].name`"));
    }

    #[test]
    fn deserialization_denies_unknown_fields() {
        let ok = PathConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("adjacency", "a1-a3")].into_iter(),
        ))
        .unwrap();
        assert_eq!(ok, path("a1-a3", &[]));
        let e = PathConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("adjacency", "a1-a3"), ("lables", "x")].into_iter(),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `lables`"), "{e}");
        let e = AnycastConfig::deserialize(MapDeserializer::<_, DeError>::new(
            [("vlfib", "a"), ("sid", "1")].into_iter(),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `sid`"), "{e}");
        let a = ActionConfig::deserialize(serde::de::value::StrDeserializer::<DeError>::new(
            "pop-and-lookup",
        ))
        .unwrap();
        assert_eq!(a, ActionConfig::PopAndLookup);
        assert!(
            ActionConfig::deserialize(serde::de::value::StrDeserializer::<DeError>::new(
                "swap-and-pop"
            ))
            .is_err()
        );
    }
}
