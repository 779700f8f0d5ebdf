//! Compilation of the CATS RIBs, and the seed's figures 5 and 6 end to end: etcd-style
//! reports and advertisements -> RIBs -> `[tables.service]` -> `ServiceConfig::build` ->
//! the data plane's service behaviours on real frame bytes at PE1 and PE4.

use core::net::Ipv6Addr;

use fwd_core::adjacency::Adjacency;
use fwd_core::buf::{PacketBuf, VecBuf};
use fwd_core::drop::DropReason;
use fwd_core::packet::parse;
use fwd_core::service::{
    process, FlowParams, Outcome, ServiceCounters, ServiceFlows, ServiceTables,
};
use proptest::prelude::*;

use super::*;
use crate::cats::{AggregationPolicy, CatsState, InstanceMetric};

fn v6(s: &str) -> Ipv6Addr {
    s.parse().expect("ipv6")
}

fn sid(s: &str) -> SidPrefix {
    SidPrefix::of(v6(s))
}

/// The adjacencies of config/service-pe1.toml and service-pe4.toml, one port each.
fn resolve(name: &str) -> Option<Adjacency> {
    let port = match name {
        "to-pe1" => 1,
        "to-pe2" => 2,
        "to-pe3" => 3,
        "to-pe4" => 4,
        "inst-1-1" => 11,
        "inst-1-2" => 12,
        "inst-4-1" => 41,
        "inst-4-2" => 42,
        "inst-4-3" => 43,
        "inst-4-4" => 44,
        _ => return None,
    };
    Some(Adjacency {
        port,
        dst_mac: [0x02, 0x5e, 0, 0, port as u8, 1],
        src_mac: [0x02, 0x5e, 0, 0, 1, port as u8],
    })
}

fn record(id: PeId, policy: &[&str]) -> PeRecord {
    PeRecord {
        id,
        sid: sid(&format!("fc00:0:{id}:c1::")),
        adjacency: format!("to-pe{id}"),
        policy: policy.iter().map(|s| v6(s)).collect(),
    }
}

fn records() -> Vec<PeRecord> {
    (1..=4).map(|i| record(i, &[])).collect()
}

fn instance(pe: u32, j: u32) -> LocalInstance {
    LocalInstance {
        id: pe * 10 + j,
        adjacency: format!("inst-{pe}-{j}"),
        address: Some(v6(&format!("2001:db8:{pe}::{pe}{j}"))),
    }
}

fn node(pe: PeId) -> ServiceNode {
    ServiceNode {
        source: Some(v6(&format!("fc00:0:{pe}::1"))),
        sids: vec![
            LocalSid {
                prefix: sid(&format!("fc00:0:{pe}:c6::")),
                behavior: BehaviorConfig::EndCg,
            },
            LocalSid {
                prefix: sid(&format!("fc00:0:{pe}:c1::")),
                behavior: BehaviorConfig::EndCl,
            },
        ],
        ..ServiceNode::new(pe)
    }
}

/// The view of one PE: its own instances' reports and the others' advertisements.
struct Pe {
    id: PeId,
    cats: CatsState,
    instances: Vec<LocalInstance>,
    tables: ServiceTables,
    flows: ServiceFlows,
    c: ServiceCounters,
}

impl Pe {
    fn new(id: PeId, reports: &[(InstanceId, u32)]) -> Pe {
        let mut cats = CatsState::new();
        for &(i, m) in reports {
            cats.report(id, 1, i, InstanceMetric::up(m));
        }
        Pe {
            id,
            cats,
            instances: reports.iter().map(|&(i, _)| instance(id, i % 10)).collect(),
            tables: ServiceTables::builder().build().expect("empty tables"),
            flows: FlowParams::default().table(1),
            c: ServiceCounters::default(),
        }
    }

    /// Recompiles and republishes this PE's tables (what the control plane does on every
    /// change); returns the compiled config.
    fn recompile(&mut self) -> ServiceConfig {
        let policy = AggregationPolicy::default();
        let out = compile(
            &node(self.id),
            &self.cats.grib(self.id, &policy),
            &self.cats.lrib(self.id),
            &records(),
            &self.instances,
        )
        .expect("compiles");
        assert_eq!(out.skipped, [], "nothing skipped");
        self.tables = out.config.build(resolve).expect("ServiceConfig::build");
        out.config
    }

    fn publish(&self) -> BTreeMap<ServiceId, u32> {
        self.cats.published(self.id, &AggregationPolicy::default())
    }

    /// Runs the service behaviours on `frame`.
    fn process(&mut self, frame: &[u8]) -> (Result<Outcome, DropReason>, Vec<u8>) {
        let mut buf = VecBuf::new(frame);
        let meta = parse(buf.data()).expect("parses");
        let r = process(&self.tables, &mut buf, &meta, &mut self.flows, 0, &self.c);
        (r, buf.data().to_vec())
    }
}

/// A client's UDP request (checksum left 0: the data plane only updates it) for service
/// 1 at `to`.
fn request(to: Ipv6Addr, sport: u16) -> Vec<u8> {
    let payload = b"compute this";
    let mut f = vec![0x02, 0, 0, 0, 0, 0xaa, 0x02, 0, 0, 0, 0, 0xbb, 0x86, 0xdd];
    f.extend((6u32 << 28).to_be_bytes());
    f.extend(((8 + payload.len()) as u16).to_be_bytes());
    f.extend([17, 64]);
    f.extend(v6("2001:db8:c::10").octets());
    f.extend(to.octets());
    f.extend(sport.to_be_bytes());
    f.extend(80u16.to_be_bytes());
    f.extend(((8 + payload.len()) as u16).to_be_bytes());
    f.extend([0, 0]);
    f.extend_from_slice(payload);
    f
}

fn global_of(c: &ServiceConfig, service: ServiceId) -> Vec<(u32, u32)> {
    c.global
        .iter()
        .find(|e| e.service == service)
        .map(|e| e.pes.iter().map(|p| (p.pe, p.metric)).collect())
        .unwrap_or_default()
}

fn local_of(c: &ServiceConfig, service: ServiceId) -> Vec<(u32, u32)> {
    c.local
        .iter()
        .find(|e| e.service == service)
        .map(|e| e.instances.iter().map(|x| (x.instance, x.metric)).collect())
        .unwrap_or_default()
}

#[test]
fn figures_5_and_6_end_to_end() {
    let mut pe1 = Pe::new(1, &[(11, 25), (12, 30)]);
    let mut pe4 = Pe::new(4, &[(41, 26), (42, 36), (43, 34), (44, 20)]);
    // What each PE learns of the others through etcd.
    for (pe, m) in [(2, 28), (3, 35)] {
        pe1.cats.advertise(pe, 1, m);
        pe4.cats.advertise(pe, 1, m);
    }
    for (s, m) in pe4.publish() {
        pe1.cats.advertise(4, s, m);
    }
    for (s, m) in pe1.publish() {
        pe4.cats.advertise(1, s, m);
    }
    assert_eq!(pe4.publish(), BTreeMap::from([(1, 20)]));

    let c1 = pe1.recompile();
    assert_eq!(global_of(&c1, 1), [(4, 20), (1, 25), (2, 28), (3, 35)]);
    assert_eq!(local_of(&c1, 1), [(11, 25), (12, 30)]);
    let c4 = pe4.recompile();
    assert_eq!(local_of(&c4, 1), [(44, 20), (41, 26), (43, 34), (42, 36)]);
    assert!(c4
        .pe
        .iter()
        .any(|p| p.id == 4 && p.local && p.sid.is_none()));

    // Figure 4: the client -> END.CG at PE1 -> steered to PE4's END.CL -> instance 4,4.
    let req = request(sid("fc00:0:1:c6::").with_service(1), 5000);
    let (r, at_pe4) = pe1.process(&req);
    assert!(
        matches!(r, Ok(Outcome::Steered { pe: 4, adjacency }) if adjacency.port == 4),
        "{r:?}"
    );
    let (r, _) = pe4.process(&at_pe4);
    assert!(
        matches!(r, Ok(Outcome::Delivered { instance: 44, .. })),
        "{r:?}"
    );

    // Figure 6: instance 4,4 fails. PE4 learns it first and recompiles; PE1 has not heard
    // yet and still steers to PE4, whose END.CL picks 4,1 (26): no way back to PE1.
    pe4.cats.report(4, 1, 44, InstanceMetric::down(20));
    let c4 = pe4.recompile();
    assert_eq!(local_of(&c4, 1), [(41, 26), (43, 34), (42, 36)]);
    assert_eq!(pe4.cats.lrib(4).best(1).map(|r| r.instance), Some(41));
    let (r, at_pe4) = pe1.process(&request(sid("fc00:0:1:c6::").with_service(1), 5001));
    assert!(matches!(r, Ok(Outcome::Steered { pe: 4, .. })), "{r:?}");
    let (r, delivered) = pe4.process(&at_pe4);
    assert!(
        matches!(r, Ok(Outcome::Delivered { instance: 41, adjacency }) if adjacency.port == 41),
        "{r:?}"
    );
    // The client packet now goes to 4,1's address.
    assert_eq!(&delivered[14 + 24..14 + 40], &v6("2001:db8:4::41").octets());
    // The flow that was on 4,4 moves to 4,1 too.
    let (r, _) = pe4.process(&at_pe4_of(&mut pe1, 5000));
    assert!(
        matches!(r, Ok(Outcome::Delivered { instance: 41, .. })),
        "{r:?}"
    );

    // PE4 publishes 26; once PE1 learns it, its own 25 wins: served locally at 1,1.
    assert_eq!(pe4.publish(), BTreeMap::from([(1, 26)]));
    pe1.cats.advertise(4, 1, 26);
    let c1 = pe1.recompile();
    assert_eq!(global_of(&c1, 1), [(1, 25), (4, 26), (2, 28), (3, 35)]);
    let (r, _) = pe1.process(&request(sid("fc00:0:1:c6::").with_service(1), 5002));
    assert!(
        matches!(r, Ok(Outcome::Delivered { instance: 11, .. })),
        "{r:?}"
    );

    // Every instance of PE4 fails: PE4 withdraws its advertisement and drops what still
    // reaches its END.CL instead of sending it back to another PE.
    for i in [41, 42, 43] {
        pe4.cats.report(4, 1, i, InstanceMetric::down(0));
    }
    let c4 = pe4.recompile();
    assert!(pe4.publish().is_empty());
    assert!(local_of(&c4, 1).is_empty());
    assert_eq!(
        global_of(&c4, 1),
        [(1, 25), (2, 28), (3, 35)],
        "PE4 offers nothing"
    );
    let (r, _) = pe4.process(&at_pe4);
    assert_eq!(r, Err(DropReason::ServiceNoLocalEntry));
    pe1.cats.unadvertise(4, 1);
    let c1 = pe1.recompile();
    assert_eq!(global_of(&c1, 1), [(1, 25), (2, 28), (3, 35)]);
    assert!(
        c1.pe.iter().all(|p| p.id != 4),
        "PE4 no longer a target at PE1"
    );
    // PE1's instances fail too: END.CG at PE1 now steers to PE2.
    for i in [11, 12] {
        pe1.cats.report(1, 1, i, InstanceMetric::down(0));
    }
    pe1.recompile();
    let (r, _) = pe1.process(&request(sid("fc00:0:1:c6::").with_service(1), 5003));
    assert!(matches!(r, Ok(Outcome::Steered { pe: 2, .. })), "{r:?}");
}

/// What PE1 sends PE4 for the flow of source port `sport`.
fn at_pe4_of(pe1: &mut Pe, sport: u16) -> Vec<u8> {
    let (r, f) = pe1.process(&request(sid("fc00:0:1:c6::").with_service(1), sport));
    assert!(matches!(r, Ok(Outcome::Steered { pe: 4, .. })), "{r:?}");
    f
}

fn grib_lrib(s: &CatsState, local: PeId) -> (Grib, Lrib) {
    (s.grib(local, &AggregationPolicy::default()), s.lrib(local))
}

#[test]
fn policy_and_local_record() {
    let mut s = CatsState::new();
    s.report(1, 1, 11, InstanceMetric::up(5));
    s.advertise(4, 1, 3);
    let (g, l) = grib_lrib(&s, 1);
    let mut recs = vec![record(1, &["fc00::1"]), record(4, &["fc00:0:2::e"])];
    let out = compile(&node(1), &g, &l, &recs, &[instance(1, 1)]).unwrap();
    assert_eq!(out.skipped, []);
    let pe4 = out.config.pe.iter().find(|p| p.id == 4).unwrap();
    assert_eq!(pe4.sid.as_deref(), Some("fc00:0:4:c1::/96"));
    assert_eq!(pe4.adjacency.as_deref(), Some("to-pe4"));
    assert_eq!(pe4.policy, ["fc00:0:2::e"]);
    // The local PE's own record is ignored: it is `local = true`.
    let pe1 = out.config.pe.iter().find(|p| p.id == 1).unwrap();
    assert!(pe1.local && pe1.sid.is_none() && pe1.policy.is_empty());
    assert_eq!(
        out.config.instance[0].address.as_deref(),
        Some("2001:db8:1::11")
    );
    assert_eq!(out.config.sid[0].prefix, "fc00:0:1:c6::/96");
    assert_eq!(out.config.source.as_deref(), Some("fc00:0:1::1"));
    let t = out.config.build(resolve).unwrap();
    let c = t.global().candidates(1).unwrap();
    let (m, best) = t.global().best(c, 0).unwrap();
    assert_eq!((m, best.id), (3, 4));

    // A policy longer than the data plane carries: PE4 left out, reported once.
    recs[1].policy = vec![v6("fc00::9"); 5];
    s.advertise(4, 2, 3);
    s.report(1, 2, 11, InstanceMetric::up(5));
    let (g, l) = grib_lrib(&s, 1);
    let out = compile(&node(1), &g, &l, &recs, &[instance(1, 1)]).unwrap();
    assert_eq!(
        out.skipped,
        [Skipped::PePolicyTooLong { pe: 4, segments: 5 }]
    );
    assert_eq!(global_of(&out.config, 1), [(1, 5)]);
    assert_eq!(global_of(&out.config, 2), [(1, 5)]);
    assert!(out.config.build(resolve).is_ok());
    assert_eq!(
        out.skipped[0].to_string(),
        "PE 4 left out: its policy has 5 segments, at most 4 fit"
    );
}

#[test]
fn missing_records_are_skipped_and_reported() {
    let mut s = CatsState::new();
    s.report(1, 1, 11, InstanceMetric::up(5));
    s.report(1, 1, 19, InstanceMetric::up(1)); // no record
    s.report(1, 2, 19, InstanceMetric::up(1)); // the only instance of service 2
    s.advertise(7, 1, 2); // no record
    s.advertise(7, 3, 2); // the only PE of service 3
    let (g, l) = grib_lrib(&s, 1);
    let out = compile(&node(1), &g, &l, &records(), &[instance(1, 1)]).unwrap();
    assert_eq!(
        out.skipped,
        [
            Skipped::PeWithoutRecord { service: 1, pe: 7 },
            Skipped::PeWithoutRecord { service: 3, pe: 7 },
            Skipped::InstanceWithoutRecord {
                service: 1,
                instance: 19
            },
            Skipped::InstanceWithoutRecord {
                service: 2,
                instance: 19
            },
        ]
    );
    // PE1's aggregate counts instance 19 (CATS has its report); only the Local FIB
    // lacks it.
    assert_eq!(global_of(&out.config, 1), [(1, 1)]);
    assert_eq!(local_of(&out.config, 1), [(11, 5)]);
    // Service 2 is still offered by PE1 in the Global FIB (PE1 has a live instance) but
    // has no Local FIB entry: END.CG drops it (the skipped list says why).
    assert_eq!(global_of(&out.config, 2), [(1, 1)]);
    assert!(local_of(&out.config, 2).is_empty());
    assert!(global_of(&out.config, 3).is_empty());
    assert_eq!(out.config.instance.len(), 1);
    assert!(out.config.build(resolve).is_ok());
    assert_eq!(
        out.skipped[2].to_string(),
        "service 1: instance 19 left out: no instance record (adjacency)"
    );
    assert_eq!(
        out.skipped[0].to_string(),
        "service 1: PE 7 left out: no PE record (SID, adjacency)"
    );
}

#[test]
fn per_service_liveness_and_unused_records() {
    let mut s = CatsState::new();
    // Instance 12 is down for service 1 but up for service 2.
    s.report(1, 1, 11, InstanceMetric::up(5));
    s.report(1, 1, 12, InstanceMetric::down(1));
    s.report(1, 2, 12, InstanceMetric::up(7));
    let (g, l) = grib_lrib(&s, 1);
    // Instance 13's adjacency does not resolve: unused, so it does not matter.
    let mut bad = instance(1, 3);
    bad.adjacency = "nowhere".into();
    let out = compile(
        &node(1),
        &g,
        &l,
        &records(),
        &[instance(1, 1), instance(1, 2), bad],
    )
    .unwrap();
    assert_eq!(local_of(&out.config, 1), [(11, 5)]);
    assert_eq!(local_of(&out.config, 2), [(12, 7)]);
    assert_eq!(
        out.config
            .instance
            .iter()
            .map(|i| (i.id, i.up))
            .collect::<Vec<_>>(),
        [(11, true), (12, true)]
    );
    // Only the local PE is a target: no source needed, no remote record used.
    let mut n = node(1);
    n.source = None;
    let out = compile(&n, &g, &l, &records(), &[instance(1, 1), instance(1, 2)]).unwrap();
    assert_eq!(out.config.pe.len(), 1);
    let t = out.config.build(resolve).unwrap();
    let c = t.local().candidates(1).unwrap();
    assert_eq!(
        t.local().live(c, 12),
        None,
        "12 is not a candidate of service 1"
    );
    let c = t.local().candidates(2).unwrap();
    assert_eq!(t.local().best(c, 0).map(|(m, i)| (m, i.id)), Some((7, 12)));
}

#[test]
fn at_most_32_candidates_the_best_kept() {
    let mut s = CatsState::new();
    let mut recs = Vec::new();
    let mut insts = Vec::new();
    for i in 0..40u32 {
        s.advertise(100 + i, 1, 1000 - i);
        recs.push(PeRecord {
            id: 100 + i,
            sid: sid(&format!("fc00:1:{i}::")),
            adjacency: "to-pe2".into(),
            policy: vec![],
        });
        s.report(1, 1, i, InstanceMetric::up(500 - i));
        insts.push(LocalInstance {
            id: i,
            adjacency: "inst-1-1".into(),
            address: None,
        });
    }
    let (g, l) = grib_lrib(&s, 1);
    let out = compile(&node(1), &g, &l, &recs, &insts).unwrap();
    assert_eq!(
        out.skipped,
        [
            Skipped::Truncated {
                fib: Fib::Global,
                service: 1,
                dropped: 9
            },
            Skipped::Truncated {
                fib: Fib::Local,
                service: 1,
                dropped: 8
            }
        ]
    );
    let gl = global_of(&out.config, 1);
    assert_eq!(gl.len(), 32);
    // PE1 (local, 461) is the best; then PEs 139..109 (961..991): 108..100 are gone.
    assert_eq!(gl[0], (1, 461));
    assert_eq!(gl[1], (139, 961));
    assert_eq!(gl[31], (109, 991));
    assert_eq!(out.config.pe.len(), 32);
    let ll = local_of(&out.config, 1);
    assert_eq!((ll.len(), ll[0], ll[31]), (32, (39, 461), (8, 492)));
    assert_eq!(out.config.instance.len(), 32);
    assert!(out.config.build(resolve).is_ok());
    assert_eq!(
        out.skipped[0].to_string(),
        "service 1: the 9 worst PEs left out (at most 32)"
    );
}

#[test]
fn inconsistent_node_records_are_errors() {
    let mut s = CatsState::new();
    s.advertise(4, 1, 3);
    let (g, l) = grib_lrib(&s, 1);
    let e = |n: &ServiceNode, p: &[PeRecord], i: &[LocalInstance]| {
        compile(n, &g, &l, p, i).unwrap_err().to_string()
    };
    let mut recs = records();
    recs.push(record(2, &[]));
    assert_eq!(
        e(&node(1), &recs, &[]),
        "PE records: expected each PE ID once, got 2 twice"
    );
    assert_eq!(
        e(&node(1), &records(), &[instance(1, 1), instance(1, 1)]),
        "instance records: expected each instance ID once, got 11 twice"
    );
    let mut n = node(1);
    n.sids.push(n.sids[0]);
    assert_eq!(
        e(&n, &records(), &[]),
        "local SIDs: expected each block once, got fc00:0:1:c6::/96 twice"
    );
    n.sids = (0..17)
        .map(|i| LocalSid {
            prefix: sid(&format!("fc00:{i}::")),
            behavior: BehaviorConfig::EndCl,
        })
        .collect();
    assert_eq!(
        e(&n, &records(), &[]),
        "local SIDs: expected at most 16, got 17"
    );
    let mut n = node(1);
    n.source = None;
    assert_eq!(
        e(&n, &records(), &[]),
        "source: expected an IPv6 encapsulation source (remote PE 4 is in the Global RIB), \
         got none"
    );
}

#[test]
fn empty_ribs_compile_to_buildable_tables() {
    let out = compile(
        &node(1),
        &Grib::default(),
        &Lrib::default(),
        &records(),
        &[instance(1, 1)],
    )
    .unwrap();
    assert!(out.config.global.is_empty() && out.config.local.is_empty());
    assert!(out.config.pe.is_empty() && out.config.instance.is_empty());
    let t = out.config.build(resolve).unwrap();
    assert_eq!(t.sids().len(), 2);
    assert!(t.global().candidates(1).is_none());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the reports and advertisements, the compiled tables build, and the data
    /// plane's best candidate for every service is the RIB's best usable one.
    #[test]
    fn compiled_tables_build_and_agree_with_the_ribs(
        reports in prop::collection::vec((0u32..3, 0u32..3, 10u32..15, 0u32..50, any::<bool>()), 0..40),
        adverts in prop::collection::vec((0u32..6, 0u32..3, 0u32..50), 0..12),
        local in 0u32..3,
        with_record in prop::collection::vec(any::<bool>(), 6),
    ) {
        let mut s = CatsState::new();
        for (pe, svc, inst, m, up) in reports {
            s.report(pe, svc, inst, InstanceMetric { metric: m, up, weight: None });
        }
        for (pe, svc, m) in adverts {
            s.advertise(pe, svc, m);
        }
        let recs: Vec<PeRecord> = (0u32..6)
            .filter(|&i| with_record[i as usize])
            .map(|i| PeRecord {
                id: i,
                sid: sid(&format!("fc00:0:{i}:c1::")),
                adjacency: format!("to-pe{}", i % 4 + 1),
                policy: vec![],
            })
            .collect();
        let insts: Vec<LocalInstance> = (10u32..14)
            .map(|i| LocalInstance { id: i, adjacency: "inst-4-1".into(), address: None })
            .collect();
        let policy = AggregationPolicy::default();
        let (g, l) = (s.grib(local, &policy), s.lrib(local));
        let out = compile(&node(local), &g, &l, &recs, &insts).unwrap();
        let t = out.config.build(resolve).unwrap();
        for svc in 0..3 {
            let usable: Vec<_> = g
                .routes(svc)
                .iter()
                .filter(|r| r.pe == local || recs.iter().any(|x| x.id == r.pe))
                .collect();
            let got = t.global().candidates(svc).and_then(|c| t.global().best(c, 0));
            prop_assert_eq!(got.map(|(m, _)| m), usable.first().map(|r| r.metric));
            if let (Some((_, pe)), Some(first)) = (got, usable.first()) {
                // Ties are spread by the data plane; the chosen PE is one of the tied.
                prop_assert!(usable.iter().any(|r| r.metric == first.metric && r.pe == pe.id));
                prop_assert_eq!(pe.is_local(), pe.id == local);
            }
            let got = t.local().candidates(svc).and_then(|c| t.local().best(c, 0));
            let want = l.live(svc).find(|r| (10..14).contains(&r.instance));
            prop_assert_eq!(got.map(|(m, _)| m), want.map(|r| r.metric));
        }
    }
}
