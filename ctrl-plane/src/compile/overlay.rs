//! Overlay routes (seed `000_*`, "Overlay Routing"): EVPN type-2 and type-5 routes of the
//! view become `[tables.overlay]` routes steering into SRoU policies whose segment lists
//! come from the SLA-constrained A* over the link state.
//!
//! - A route is imported when its VNID is one of this node's VRFs and (when an import list
//!   is given) its export RT is on the list. Routes the node announces itself are skipped.
//! - The route's `SystemName` is the egress node; its `PolicyTag` names an SLA class
//!   (bounds on delay, jitter, loss and bandwidth); an unknown or empty tag means no bound
//!   (the least-delay path).
//! - The graph: registered nodes, and one edge per `/stats/linkstate` key between two of
//!   them, with the measured delay, jitter and loss, and as available bandwidth the
//!   source locator's TX bandwidth less the reported load.
//! - One policy per (egress node, VNID, tag), named `etcd-<node>-<vnid>-<tag>`: source is
//!   this node's first locator, the path is the locators (public address) of every node
//!   after this one, the egress last, with a service segment for the VNID so the egress
//!   decapsulates into the VRF. The A* runs once per (egress, tag).
//! - A route whose egress is unreachable within its SLA is left out, with a warning: its
//!   destinations then miss in the data plane (a counted `no-route` drop), rather than
//!   taking a path that breaks the SLA.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use fwd_core::overlay::config::{OverlayConfig, Route2Config, Route5Config};
use fwd_core::srou::config::PolicyConfig;

use crate::etcd::schema::{Key, Locator, Value};
use crate::etcd::View;
use crate::path::astar::{sla_path, Sla};
use crate::path::graph::{EdgeAttrs, GraphBuilder};

/// What the node imports and how it builds its policies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OverlayContext {
    /// This node's name.
    pub node: String,
    /// VNIDs of this node's VRFs.
    pub vnids: BTreeSet<u32>,
    /// Export RTs to import; empty: every RT.
    pub import_rt: Vec<String>,
    /// SLA classes by policy tag.
    pub sla: BTreeMap<String, Sla>,
    /// Flow ID (token) put in the policies, hex; empty for none.
    pub flow_id: String,
    /// Route targets of `/control/<RT>/...` rules and the VNID each steers in.
    pub route_targets: BTreeMap<String, u32>,
}

/// The compiled overlay: policies and routes (VRFs stay the file's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OverlayCompiled {
    /// SRoU policies the routes target.
    pub policies: Vec<PolicyConfig>,
    /// Routes (no VRFs).
    pub overlay: OverlayConfig,
    /// What was left out, and why.
    pub warnings: Vec<String>,
}

fn fmt_mac(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// Compiles the overlay routes the view holds for this node.
pub fn compile_overlay(view: &View, ctx: &OverlayContext) -> OverlayCompiled {
    let mut out = OverlayCompiled::default();
    let mut registered = BTreeSet::new();
    let mut locators: BTreeMap<&str, &Locator> = BTreeMap::new();
    for (k, v) in view.iter() {
        match (k, v) {
            (Key::Node { name, .. }, _) => {
                registered.insert(name.as_str());
            }
            (Key::Service { name, .. }, Value::Locators(l)) => {
                if let Some(first) = l.first() {
                    locators.insert(name.as_str(), first);
                }
            }
            _ => {}
        }
    }
    let Some(mine) = locators.get(ctx.node.as_str()).copied() else {
        out.warnings.push(format!(
            "overlay: node {} has no locator in etcd yet",
            ctx.node
        ));
        return out;
    };

    // The graph, once.
    let mut gb = GraphBuilder::new();
    for n in &registered {
        let _ = gb.add_node(n);
    }
    for (k, v) in view.iter() {
        if let (Key::LinkState { src, dst }, Value::LinkState(s)) = (k, v) {
            if !registered.contains(src.system.as_str())
                || !registered.contains(dst.system.as_str())
            {
                continue;
            }
            let avail_mbps = src.tx_mbps * u64::from(100 - s.load_pct.min(100)) / 100;
            let attrs = EdgeAttrs {
                metric: s.metric,
                delay_us: s.delay_us,
                jitter_us: s.jitter_us,
                loss_ppm: s.loss_ppm,
                bandwidth_kbps: avail_mbps.saturating_mul(1000),
            };
            if let Err(e) = gb.add_edge_by_name(&src.system, &dst.system, attrs) {
                out.warnings
                    .push(format!("overlay: link {src}->{dst}: {e}"));
            }
        }
    }
    let graph = gb.build();
    let me = graph.node(&ctx.node);

    // (egress, tag) -> path locators, computed once.
    let mut paths: BTreeMap<(String, String), Option<Vec<String>>> = BTreeMap::new();
    let mut policy_names: BTreeSet<String> = BTreeSet::new();
    let mut policy_for = |system: &str,
                          vnid: u32,
                          tag: &str,
                          out: &mut OverlayCompiled|
     -> Option<String> {
        let key = (system.to_string(), tag.to_string());
        if !paths.contains_key(&key) {
            let sla = ctx.sla.get(tag).copied().unwrap_or_default();
            let found = match (me, graph.node(system)) {
                (Some(s), Some(t)) => match sla_path(&graph, s, t, &sla) {
                    Ok(Some(p)) => {
                        let mut hops = Vec::new();
                        for n in p.nodes.iter().skip(1) {
                            let name = graph.name(*n).unwrap_or_default();
                            match locators.get(name) {
                                Some(l) => hops.push(l.public.to_string()),
                                None => {
                                    out.warnings.push(format!(
                                        "overlay: {name} on the path to {system} has no locator"
                                    ));
                                    hops.clear();
                                    break;
                                }
                            }
                        }
                        (!hops.is_empty()).then_some(hops)
                    }
                    Ok(None) => {
                        out.warnings.push(format!(
                            "overlay: no path to {system} meets SLA class {tag:?}; its routes are left out"
                        ));
                        None
                    }
                    Err(e) => {
                        out.warnings.push(format!("overlay: path to {system}: {e}"));
                        None
                    }
                },
                _ => {
                    out.warnings.push(format!(
                        "overlay: {system} is not reachable (not registered or no links)"
                    ));
                    None
                }
            };
            paths.insert(key.clone(), found);
        }
        let path = paths.get(&key)?.as_ref()?;
        let name = format!(
            "etcd-{system}-{vnid}-{}",
            if tag.is_empty() { "any" } else { tag }
        );
        if policy_names.insert(name.clone()) {
            out.policies.push(PolicyConfig {
                name: Some(name.clone()),
                destination: None,
                flow_id: ctx.flow_id.clone(),
                source: mine.local.to_string(),
                path: path.clone(),
                vnid: Some(vnid),
                behavior: None,
            });
        }
        Some(name)
    };

    // The target of each (egress, VNID, tag), decided once: routes share a few, and each
    // decision allocates its keys and name and searches two maps (a quarter of this
    // function's instructions at 100k routes, perf/bench-etcd-latency.sh).
    let mut targets: HashMap<(&str, u32, &str), Option<String>> = HashMap::new();
    for (k, v) in view.iter() {
        let (
            rt,
            Value::Route {
                vnid,
                system,
                policy,
            },
        ) = (
            match k {
                Key::Route2 { rt, .. } | Key::Route5 { rt, .. } => rt,
                _ => continue,
            },
            v,
        )
        else {
            continue;
        };
        if system == &ctx.node
            || !ctx.vnids.contains(vnid)
            || (!ctx.import_rt.is_empty() && !ctx.import_rt.contains(rt))
        {
            continue;
        }
        let Some(target) = targets
            .entry((system.as_str(), *vnid, policy.as_str()))
            .or_insert_with(|| policy_for(system, *vnid, policy, &mut out))
            .clone()
        else {
            continue;
        };
        match k {
            Key::Route5 { prefix, len, .. } => out.overlay.route5.push(Route5Config {
                vnid: *vnid,
                prefix: format!("{prefix}/{len}"),
                target,
            }),
            Key::Route2 { mac, ip, .. } => out.overlay.route2.push(Route2Config {
                vnid: *vnid,
                mac: fmt_mac(mac),
                ip: Some(ip.to_string()),
                target,
            }),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(n: &str, last: u8) -> String {
        format!("{n}/1/10.0.0.{last}:8811/198.51.100.{last}:8811/p0/1000/1000")
    }

    fn view() -> View {
        let mut v = View::new();
        for (n, i) in [("a", 1), ("b", 2), ("c", 3), ("d", 4)] {
            v.put(format!("/node/fabric/{n}").as_bytes(), b"1,0,,");
            v.put(
                format!("/service/fabric/{n}").as_bytes(),
                loc(n, i).as_bytes(),
            );
        }
        // a-b-c: 1 ms + 1 ms, jittery; a-d-c: 3 ms + 3 ms, steady.
        let link = |v: &mut View, s: (&str, u8), d: (&str, u8), val: &str| {
            v.put(
                format!("/stats/linkstate/{}->{}", loc(s.0, s.1), loc(d.0, d.1)).as_bytes(),
                val.as_bytes(),
            );
        };
        link(&mut v, ("a", 1), ("b", 2), "500,1000,0,0");
        link(&mut v, ("b", 2), ("c", 3), "500,1000,0,0");
        link(&mut v, ("a", 1), ("d", 4), "10,3000,0,0");
        link(&mut v, ("d", 4), ("c", 3), "10,3000,0,0");
        v.put(b"/route/5/rt1/c:100/10.3.0.0/16", b"100/c/");
        v.put(b"/route/5/rt1/c:100/10.4.0.0/16", b"100/c/steady");
        v.put(b"/route/2/rt1/c:100/02:00:00:00:00:33/10.3.0.9", b"100/c/");
        v.put(b"/route/5/rt1/c:200/10.9.0.0/16", b"200/c/");
        v.put(b"/route/5/rt2/a:100/10.1.0.0/16", b"100/a/");
        v
    }

    fn ctx() -> OverlayContext {
        OverlayContext {
            node: "a".into(),
            vnids: [100].into_iter().collect(),
            import_rt: vec![],
            sla: [(
                "steady".to_string(),
                Sla {
                    max_jitter_us: 100,
                    ..Sla::default()
                },
            )]
            .into_iter()
            .collect(),
            flow_id: "0x000123".into(),
            route_targets: BTreeMap::new(),
        }
    }

    #[test]
    fn routes_steer_into_least_delay_or_sla_paths() {
        let out = compile_overlay(&view(), &ctx());
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        // VNID 200 is not a VRF here; a's own route is skipped.
        assert_eq!(out.overlay.route5.len(), 2);
        assert_eq!(out.overlay.route2.len(), 1);
        let by_name: BTreeMap<_, _> = out
            .policies
            .iter()
            .map(|p| (p.name.clone().unwrap(), p))
            .collect();
        // No SLA: least delay, through b.
        let any = by_name["etcd-c-100-any"];
        assert_eq!(any.path, vec!["198.51.100.2:8811", "198.51.100.3:8811"]);
        assert_eq!(any.source, "10.0.0.1:8811");
        assert_eq!(any.vnid, Some(100));
        // Jitter at most 100 us: only through d qualifies.
        let steady = by_name["etcd-c-100-steady"];
        assert_eq!(steady.path, vec!["198.51.100.4:8811", "198.51.100.3:8811"]);
        assert_eq!(out.overlay.route5[1].target, "etcd-c-100-steady");
        assert_eq!(out.overlay.route2[0].mac, "02:00:00:00:00:33");
    }

    #[test]
    fn unreachable_or_unmeetable_routes_are_left_out_with_a_warning() {
        let mut c = ctx();
        c.sla.insert(
            "steady".into(),
            Sla {
                max_jitter_us: 1,
                ..Sla::default()
            },
        );
        let out = compile_overlay(&view(), &c);
        assert_eq!(out.overlay.route5.len(), 1);
        assert!(
            out.warnings.iter().any(|w| w.contains("SLA")),
            "{:?}",
            out.warnings
        );
        // c's lease expired: no route to it at all.
        let mut v = view();
        v.delete(b"/node/fabric/c");
        let out = compile_overlay(&v, &ctx());
        assert!(out.overlay.route5.is_empty() && out.policies.is_empty());
        assert!(!out.warnings.is_empty());
    }

    #[test]
    fn import_list_filters_by_export_rt() {
        let mut c = ctx();
        c.import_rt = vec!["rt9".into()];
        let out = compile_overlay(&view(), &c);
        assert!(out.overlay.route5.is_empty());
    }
}
