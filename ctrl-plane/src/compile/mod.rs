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

use std::collections::{BTreeMap, BTreeSet};

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

/// This node's service settings for compiling `[tables.service]` from CATS (they come from
/// the node's own configuration; the RIBs come from etcd).
#[derive(Debug, Clone)]
pub struct ServiceContext {
    /// The node's name: its PE record is `/cats/pe/<name>`.
    pub node: String,
    /// SIDs, outer source, hop limit, flow sizing (its `local_pe` is replaced by the ID of
    /// `/cats/pe/<name>`).
    pub settings: service::ServiceNode,
    /// The node's instances, each behind a named adjacency.
    pub instances: Vec<service::LocalInstance>,
    /// How instance metrics fold into a PE's metric.
    pub aggregation: crate::cats::AggregationPolicy,
    /// Adjacency names the data plane knows: a remote PE is reached through the adjacency
    /// named after it, and is left out (with a warning) when there is none.
    pub adjacencies: BTreeSet<String>,
}

/// The CATS state of the view: every PE's instance reports (`/cats/instance`) and
/// advertisements (`/cats/metric`), keyed by PE ID through `/cats/pe`; plus the PE
/// records (name -> ID and SID block). Reports of a PE without a record are ignored.
pub fn cats_state(view: &View) -> (crate::cats::CatsState, BTreeMap<String, (u32, String)>) {
    let mut pes: BTreeMap<String, (u32, String)> = BTreeMap::new();
    for (k, v) in view.iter() {
        if let (Key::CatsPe(name), Value::CatsPe { id, sid }) = (k, v) {
            pes.insert(name.clone(), (*id, sid.clone()));
        }
    }
    let mut st = crate::cats::CatsState::new();
    for (k, v) in view.iter() {
        match (k, v) {
            (
                Key::CatsInstance {
                    pe,
                    service,
                    instance,
                },
                Value::Instance(r),
            ) => {
                if let Some((id, _)) = pes.get(pe) {
                    let m = crate::cats::InstanceMetric {
                        metric: r.metric,
                        up: r.up,
                        weight: std::num::NonZeroU32::new(r.weight),
                    };
                    // weight 0: no capacity, never chosen.
                    let m = if r.weight == 0 {
                        crate::cats::InstanceMetric { up: false, ..m }
                    } else {
                        m
                    };
                    st.report(*id, *service, *instance, m);
                }
            }
            (Key::CatsMetric { service, pe }, Value::Metric(m)) => {
                if let Some((id, _)) = pes.get(pe) {
                    st.advertise(*id, *service, *m);
                }
            }
            _ => {}
        }
    }
    (st, pes)
}

/// Compiles `[tables.service]` from the view's CATS state; `None` when this node has no
/// PE record yet. Warnings list what was left out.
pub fn compile_service(
    view: &View,
    ctx: &ServiceContext,
    warnings: &mut Vec<String>,
) -> Option<fwd_core::service::ServiceConfig> {
    let (st, pes) = cats_state(view);
    let (my_id, _) = pes.get(&ctx.node)?;
    let mut records = Vec::new();
    for (name, (id, sid)) in &pes {
        if name == &ctx.node {
            continue;
        }
        if !ctx.adjacencies.contains(name) {
            warnings.push(format!(
                "service: PE {name} (id {id}) has no [[adjacency]] named after it; left out"
            ));
            continue;
        }
        let Some(prefix) = fwd_core::service::config::parse_sid_prefix(sid) else {
            continue;
        };
        records.push(service::PeRecord {
            id: *id,
            sid: prefix,
            adjacency: name.clone(),
            policy: Vec::new(),
        });
    }
    let mut node = ctx.settings.clone();
    node.local_pe = *my_id;
    let grib = st.grib(*my_id, &ctx.aggregation);
    let lrib = st.lrib(*my_id);
    match service::compile(&node, &grib, &lrib, &records, &ctx.instances) {
        Ok(c) => {
            warnings.extend(c.skipped.iter().map(|s| format!("service: {s}")));
            Some(c.config)
        }
        Err(e) => {
            warnings.push(format!("service: {e}"));
            None
        }
    }
}

/// The metrics this PE publishes under `/cats/metric/<service>/<node>`: its instances'
/// metrics aggregated per service.
pub fn cats_published(view: &View, ctx: &ServiceContext) -> Vec<(String, String)> {
    let (st, pes) = cats_state(view);
    let Some((my_id, _)) = pes.get(&ctx.node) else {
        return Vec::new();
    };
    st.published(*my_id, &ctx.aggregation)
        .into_iter()
        .map(|(service, m)| {
            (
                Key::CatsMetric {
                    service,
                    pe: ctx.node.clone(),
                }
                .path(),
                crate::cats::format_advertisement(m),
            )
        })
        .collect()
}

/// The token lists of the view's `/token`, `/identity` and `/policy` keys for this node
/// (its groups: those `/identity/<node>/...` gives it); `None` when etcd holds none.
pub fn compile_tokens(
    view: &View,
    node: &str,
    mode: fwd_core::srou::AclMode,
    warnings: &mut Vec<String>,
) -> Option<srou::TokenFields> {
    let mut st = crate::policy::PolicyState::new(std::time::Duration::ZERO);
    let now = std::time::Instant::now();
    let mut any = false;
    for (k, v) in view.iter() {
        let text = match (k, v) {
            (Key::TokenPermit(_) | Key::TokenBlock(_), _) => String::new(),
            (Key::Identity { .. } | Key::GroupPolicy { .. }, Value::Text(t)) => t.clone(),
            _ => continue,
        };
        any = true;
        if let Err(e) = st.put(&k.path(), &text, now) {
            warnings.push(format!("policy: {e}"));
        }
    }
    if !any {
        return None;
    }
    let groups = st.access.groups_of_user(node);
    let decisions = st.access.decide(&groups);
    srou::log_decisions(&decisions);
    Some(srou::token_fields(&decisions, mode))
}

/// The dynamic-anycast map cache of the view (seed `002_*`): `/dyncast/<eid>/<rloc>` =
/// `priority,weight`, grouped by EID, every RLOC reached through `adjacency` (the underlay
/// next hop). At most [`fwd_core::dyncast::map_cache::MAX_RLOCS`] RLOCs per EID are kept
/// (best priority, then highest weight, then address); the rest are reported.
pub fn compile_dyncast(
    view: &View,
    adjacency: &str,
    warnings: &mut Vec<String>,
) -> Vec<fwd_core::dyncast::config::MappingConfig> {
    use fwd_core::dyncast::config::{MappingConfig, RlocConfig};
    use fwd_core::dyncast::map_cache::MAX_RLOCS;
    let mut by_eid: BTreeMap<std::net::IpAddr, Vec<(u8, u8, std::net::IpAddr)>> = BTreeMap::new();
    for (k, v) in view.iter() {
        if let (Key::DyncastRloc { eid, rloc }, Value::Rloc { priority, weight }) = (k, v) {
            by_eid
                .entry(*eid)
                .or_default()
                .push((*priority, *weight, *rloc));
        }
    }
    by_eid
        .into_iter()
        .map(|(eid, mut rlocs)| {
            rlocs.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
            if rlocs.len() > MAX_RLOCS {
                warnings.push(format!(
                    "dyncast: {eid} has {} RLOCs; the best {MAX_RLOCS} are used",
                    rlocs.len()
                ));
                rlocs.truncate(MAX_RLOCS);
            }
            MappingConfig {
                dseid: eid.to_string(),
                instance_id: None,
                rlocs: rlocs
                    .into_iter()
                    .map(|(priority, weight, rloc)| RlocConfig {
                        address: rloc.to_string(),
                        priority,
                        weight,
                        adjacency: adjacency.to_string(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The STAMP reverse paths of the view (seed `003_*`): `/stamp/pathseg/<path segment>` =
/// the reply's segment list, travel order, for the reflector to answer SRv6 test packets
/// carrying that path segment (P-flag set) along the reverse path.
pub fn compile_reverse_paths(view: &View) -> Vec<fwd_core::stamp::config::ReversePathConfig> {
    view.iter()
        .filter_map(|(k, v)| match (k, v) {
            (Key::PathSegment(psid), Value::Segments(segs)) => {
                Some(fwd_core::stamp::config::ReversePathConfig {
                    path_segment: psid.to_string(),
                    segments: segs.iter().map(|s| s.to_string()).collect(),
                })
            }
            _ => None,
        })
        .collect()
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

    fn service_ctx(node: &str, instances: &[(u32, &str)]) -> ServiceContext {
        let mut settings = service::ServiceNode::new(0);
        settings.source = Some("fc00::4".parse().unwrap());
        settings.sids.push(service::LocalSid {
            prefix: fwd_core::service::config::parse_sid_prefix("fc00:0:4:c1::/96").unwrap(),
            behavior: fwd_core::service::config::BehaviorConfig::EndCl,
        });
        ServiceContext {
            node: node.into(),
            settings,
            instances: instances
                .iter()
                .map(|(id, adj)| service::LocalInstance {
                    id: *id,
                    adjacency: adj.to_string(),
                    address: None,
                })
                .collect(),
            aggregation: crate::cats::AggregationPolicy::new(crate::cats::Aggregation::Min),
            adjacencies: ["pe1", "pe4", "i1", "i4"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }

    #[test]
    fn cats_reports_in_etcd_become_service_fibs_and_published_metrics() {
        let mut v = View::new();
        for (k, val) in [
            ("/cats/pe/pe1", "1,fc00:0:1:c1::/96"),
            ("/cats/pe/pe4", "4,fc00:0:4:c1::/96"),
            ("/cats/instance/pe4/100/1", "30,up"),
            ("/cats/instance/pe4/100/4", "10,up"),
            // A report of a PE without a record is ignored.
            ("/cats/instance/pe9/100/1", "1,up"),
        ] {
            v.put(k.as_bytes(), val.as_bytes());
        }
        let pe4 = service_ctx("pe4", &[(1, "i1"), (4, "i4")]);
        let mut w = Vec::new();
        let cfg = compile_service(&v, &pe4, &mut w).expect("pe4 is a PE");
        let local = &cfg.local[0];
        assert_eq!(local.service, 100);
        assert_eq!(local.instances[0].instance, 4, "best metric first");
        assert_eq!(
            cats_published(&v, &pe4),
            vec![("/cats/metric/100/pe4".to_string(), "10".to_string())]
        );
        // Figure 6: instance 4,4 fails; PE4 picks 4,1 locally.
        v.put(b"/cats/instance/pe4/100/4", b"10,down");
        let cfg = compile_service(&v, &pe4, &mut w).unwrap();
        assert_eq!(cfg.local[0].instances.len(), 1);
        assert_eq!(cfg.local[0].instances[0].instance, 1);
        assert_eq!(cats_published(&v, &pe4)[0].1, "30");
        // PE1 sees PE4's published metric in its Global FIB.
        v.put(b"/cats/metric/100/pe4", b"30");
        let pe1 = service_ctx("pe1", &[]);
        let cfg = compile_service(&v, &pe1, &mut w).unwrap();
        assert_eq!(cfg.global[0].pes[0].pe, 4);
        assert_eq!(cfg.global[0].pes[0].metric, 30);
        // Without a record for itself a node has no service tables.
        assert!(compile_service(&v, &service_ctx("pe7", &[]), &mut w).is_none());
    }

    #[test]
    fn tokens_identities_and_group_policies_become_token_lists() {
        let mut v = View::new();
        let mut w = Vec::new();
        assert!(compile_tokens(&v, "gw1", fwd_core::srou::AclMode::BlockOnly, &mut w).is_none());
        for (k, val) in [
            ("/token/block/0x0000aa", ""),
            ("/token/permit/0x0000bb", ""),
            ("/identity/alice/0x000001", "eng"),
            ("/identity/bob/0x000002", "finance"),
            ("/identity/gw1/0x0000ff", "finance"),
            ("/policy/eng/finance", "deny"),
        ] {
            v.put(k.as_bytes(), val.as_bytes());
        }
        let t = compile_tokens(&v, "gw1", fwd_core::srou::AclMode::BlockOnly, &mut w).unwrap();
        assert!(t.block.contains(&"0x0000aa".to_string()), "{t:?}");
        assert!(
            t.block.contains(&"0x000001".to_string()),
            "eng may not reach finance: {t:?}"
        );
        assert!(!t.block.contains(&"0x000002".to_string()));
        assert!(t.permit.contains(&"0x0000bb".to_string()));
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn dyncast_rlocs_group_by_eid_best_first_and_bounded() {
        let mut v = View::new();
        v.put(b"/dyncast/198.51.100.10/192.0.2.3", b"1,30");
        v.put(b"/dyncast/198.51.100.10/192.0.2.2", b"1,70");
        v.put(b"/dyncast/198.51.100.10/192.0.2.4", b"2,100");
        v.put(b"/dyncast/2001:db8::10/2001:db8::2", b"1,1");
        for i in 0..40 {
            v.put(
                format!("/dyncast/198.51.100.99/10.0.0.{i}").as_bytes(),
                b"5,1",
            );
        }
        let mut w = Vec::new();
        let m = compile_dyncast(&v, "core", &mut w);
        assert_eq!(m.len(), 3);
        let a = m.iter().find(|x| x.dseid == "198.51.100.10").unwrap();
        let order: Vec<&str> = a.rlocs.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(order, ["192.0.2.2", "192.0.2.3", "192.0.2.4"]);
        assert_eq!(a.rlocs[0].adjacency, "core");
        let big = m.iter().find(|x| x.dseid == "198.51.100.99").unwrap();
        assert_eq!(big.rlocs.len(), fwd_core::dyncast::map_cache::MAX_RLOCS);
        assert_eq!(w.len(), 1, "{w:?}");
        // What compiles is what the data plane builds.
        let cfg = fwd_core::dyncast::DyncastConfig {
            source_v4: Some("192.0.2.1".into()),
            source_v6: Some("2001:db8::1".into()),
            mapping: m,
            ..Default::default()
        };
        let adj = fwd_core::adjacency::Adjacency {
            port: 0,
            dst_mac: [2, 0, 0, 0, 0, 1],
            src_mac: [2, 0, 0, 0, 0, 2],
        };
        cfg.build(|_| Some(adj)).expect("the data plane takes it");
    }

    #[test]
    fn path_segments_become_reverse_paths_the_reflector_builds() {
        let mut v = View::new();
        v.put(
            b"/stamp/pathseg/2001:db8:ffff::1",
            b"2001:db8:d::d1,2001:db8:c::c1,2001:db8:b::b1",
        );
        v.put(b"/stamp/pathseg/2001:db8:ffff::2", b"not-an-address");
        let r = compile_reverse_paths(&v);
        assert_eq!(r.len(), 1, "the malformed one was rejected by the view");
        assert_eq!(r[0].segments.len(), 3);
        let cfg = fwd_core::stamp::StampConfig {
            addresses: vec!["2001:db8:d::1".into()],
            p_flag: Some(0x40),
            reverse_path: r,
            ..Default::default()
        };
        cfg.build().expect("the reflector takes it");
    }
}
