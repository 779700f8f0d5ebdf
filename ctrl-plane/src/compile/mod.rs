//! Compilation: the control plane's view of etcd turned into the data plane's table
//! configurations, the same `[tables.*]` structures a config file gives, so one builder
//! (and one set of checks) makes the snapshot the workers use whichever way it came.
//!
//! - [`mpls`]: LFIB and V-LFIBs from SPF over the link state (seed `004_*`);
//! - [`service`]: Global and Local service FIBs from CATS (seed `001_*`);
//! - [`srou`]: SRoU token lists and segment lists (seed `000_*`).
//!
//! [`mpls_topology`] reads the MPLS view of the network out of the etcd view: registered
//! nodes (`/node/*`), their SRGBs (`/srgb/*`), prefix and anycast SIDs (`/sid/*`) and the
//! links between registered nodes (`/stats/linkstate/*`). A node whose lease expired has no
//! `/node` key any more, so links to it drop out and paths move elsewhere.

pub mod mpls;
pub mod overlay;
pub mod service;
pub mod srou;

use std::collections::BTreeMap;

use crate::etcd::schema::{Key, Value};
use crate::etcd::View;
use mpls::{AnycastMembership, MplsLink, MplsNode, MplsTopology, SrgbBlock};

/// The MPLS topology the view describes (see the module documentation).
pub fn mpls_topology(view: &View) -> MplsTopology {
    let mut nodes: BTreeMap<&str, MplsNode> = BTreeMap::new();
    for (k, _) in view.iter() {
        if let Key::Node { name, .. } = k {
            nodes.entry(name).or_insert_with(|| MplsNode {
                name: name.clone(),
                srgb: None,
                prefix_sid: None,
                anycast: Vec::new(),
            });
        }
    }
    let mut links: BTreeMap<(&str, &str), u32> = BTreeMap::new();
    for (k, v) in view.iter() {
        match (k, v) {
            (Key::Srgb(n), Value::Srgb { base, size }) => {
                if let Some(node) = nodes.get_mut(n.as_str()) {
                    node.srgb = Some(SrgbBlock::new(*base, *size));
                }
            }
            (Key::PrefixSid(n), Value::SidIndex(i)) => {
                if let Some(node) = nodes.get_mut(n.as_str()) {
                    node.prefix_sid = Some(*i);
                }
            }
            (Key::AnycastSid { group, name }, Value::SidIndex(i)) => {
                if let Some(node) = nodes.get_mut(name.as_str()) {
                    node.anycast.push(AnycastMembership {
                        group: group.clone(),
                        index: *i,
                    });
                }
            }
            (Key::LinkState { src, dst }, Value::LinkState(s))
                if src.system != dst.system
                    && nodes.contains_key(src.system.as_str())
                    && nodes.contains_key(dst.system.as_str()) =>
            {
                let m = links
                    .entry((src.system.as_str(), dst.system.as_str()))
                    .or_insert(s.metric);
                *m = (*m).min(s.metric);
            }
            _ => {}
        }
    }
    MplsTopology {
        nodes: nodes.into_values().collect(),
        links: links
            .into_iter()
            .map(|((a, b), m)| MplsLink::new(a, b, m))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "a/1/10.0.0.1:8811/10.0.0.1:8811/p0/1000/1000";
    const B: &str = "b/1/10.0.0.2:8811/10.0.0.2:8811/p0/1000/1000";
    const C: &str = "c/1/10.0.0.3:8811/10.0.0.3:8811/p0/1000/1000";

    #[test]
    fn topology_keeps_links_between_registered_nodes_only() {
        let mut v = View::new();
        for (k, val) in [
            ("/node/fabric/a", "1,0,,"),
            ("/node/fabric/b", "1,1,,"),
            ("/srgb/a", "16000,8000"),
            ("/srgb/b", "17000,8000"),
            ("/srgb/c", "18000,8000"),
            ("/sid/prefix/a", "1"),
            ("/sid/prefix/b", "2"),
            ("/sid/anycast/g/b", "100"),
        ] {
            v.put(k.as_bytes(), val.as_bytes());
        }
        v.put(
            format!("/stats/linkstate/{A}->{B}").as_bytes(),
            b"0,100,0,0,10",
        );
        v.put(
            format!("/stats/linkstate/{B}->{A}").as_bytes(),
            b"0,100,0,0,12",
        );
        // c is not registered (its lease expired): its link and SRGB are ignored.
        v.put(
            format!("/stats/linkstate/{A}->{C}").as_bytes(),
            b"0,100,0,0,1",
        );
        let t = mpls_topology(&v);
        assert_eq!(t.nodes.len(), 2);
        assert_eq!(t.nodes[1].srgb, Some(SrgbBlock::new(17000, 8000)));
        assert_eq!(t.nodes[1].anycast[0].index, 100);
        assert_eq!(
            t.links,
            vec![MplsLink::new("a", "b", 10), MplsLink::new("b", "a", 12)]
        );
        let out = mpls::compile_mpls(&t, "a", &Default::default()).unwrap();
        // b's prefix SID 2: 16002 swapped to 17002 towards b.
        let e = out
            .config
            .lfib
            .iter()
            .find(|e| e.label == 16002)
            .expect("an entry for b");
        assert_eq!(e.paths[0].labels, vec![17002]);
        assert_eq!(e.paths[0].adjacency, "b");
    }
}
