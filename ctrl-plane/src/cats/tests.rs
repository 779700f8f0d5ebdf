use super::*;
use proptest::prelude::*;

fn nz(w: u32) -> NonZeroU32 {
    NonZeroU32::new(w).expect("nonzero weight")
}

/// Figure 6 of the seed: PE1's instances 1,1 (25) and 1,2 (30), PE2's 2,1 (28), PE3's 3,1
/// (35), PE4's 4,1..4,4 (26, 36, 34, 20). Instance IDs as in config/service-pe*.toml.
pub(crate) fn figure6() -> CatsState {
    let mut s = CatsState::new();
    for (pe, inst, metric) in [
        (1, 11, 25),
        (1, 12, 30),
        (2, 21, 28),
        (3, 31, 35),
        (4, 41, 26),
        (4, 42, 36),
        (4, 43, 34),
        (4, 44, 20),
    ] {
        s.report(pe, 1, inst, InstanceMetric::up(metric));
    }
    s
}

fn pes(r: &[PeRoute]) -> Vec<(PeId, u32)> {
    r.iter().map(|x| (x.pe, x.metric)).collect()
}

#[test]
fn figure6_min_aggregation_and_failure() {
    let min = AggregationPolicy::default();
    let mut s = figure6();
    let g = s.grib(1, &min);
    assert_eq!(pes(g.routes(1)), [(4, 20), (1, 25), (2, 28), (3, 35)]);
    assert_eq!(pes(g.best(1)), [(4, 20)]);
    assert_eq!(s.published(4, &min), BTreeMap::from([(1, 20)]));
    assert_eq!(s.lrib(4).best(1).map(|r| r.instance), Some(44));

    // Instance 4,4 fails: PE4's Local RIB still lists it (down) but picks 4,1; PE4 now
    // advertises 26, and PE1 (25) becomes the best PE.
    s.report(4, 1, 44, InstanceMetric::down(20));
    let l = s.lrib(4);
    assert_eq!(
        l.routes(1)
            .iter()
            .map(|r| (r.instance, r.metric, r.up))
            .collect::<Vec<_>>(),
        [
            (44, 20, false),
            (41, 26, true),
            (43, 34, true),
            (42, 36, true)
        ]
    );
    assert_eq!(l.best(1).map(|r| r.instance), Some(41));
    assert_eq!(l.live(1).count(), 3);
    assert_eq!(s.published(4, &min), BTreeMap::from([(1, 26)]));
    assert_eq!(pes(s.grib(1, &min).best(1)), [(1, 25)]);

    // Every instance of PE4 down: PE4 is offered nowhere and publishes nothing.
    for i in [41, 42, 43] {
        s.report(4, 1, i, InstanceMetric::down(1));
    }
    assert_eq!(pes(s.grib(4, &min).routes(1)), [(1, 25), (2, 28), (3, 35)]);
    assert!(s.published(4, &min).is_empty());
    assert_eq!(s.lrib(4).best(1), None);
    assert_eq!(s.lrib(4).routes(1).len(), 4);
}

#[test]
fn mean_and_weighted() {
    let mut s = CatsState::new();
    s.report(7, 3, 1, InstanceMetric::up(10).with_weight(nz(3)));
    s.report(7, 3, 2, InstanceMetric::up(21));
    s.report(7, 3, 3, InstanceMetric::down(0).with_weight(nz(100)));
    assert_eq!(s.aggregate(7, 3, Aggregation::Min), Some(10));
    // (10 + 21) / 2 = 15.5 -> 16 (halves up).
    assert_eq!(s.aggregate(7, 3, Aggregation::Mean), Some(16));
    // (3*10 + 1*21) / 4 = 12.75 -> 13; the down instance's weight does not count.
    assert_eq!(s.aggregate(7, 3, Aggregation::Weighted), Some(13));
    s.report(7, 3, 2, InstanceMetric::up(11));
    // (30 + 11) / 4 = 10.25 -> 10.
    assert_eq!(s.aggregate(7, 3, Aggregation::Weighted), Some(10));
    assert_eq!(s.aggregate(7, 4, Aggregation::Mean), None);
    assert_eq!(s.aggregate(8, 3, Aggregation::Min), None);

    // Extremes do not overflow and stay within [min, max].
    let mut s = CatsState::new();
    for i in 0..5 {
        s.report(
            1,
            1,
            i,
            InstanceMetric::up(u32::MAX).with_weight(nz(u32::MAX)),
        );
    }
    for m in [Aggregation::Min, Aggregation::Mean, Aggregation::Weighted] {
        assert_eq!(s.aggregate(1, 1, m), Some(u32::MAX), "{m}");
    }
    s.report(1, 1, 9, InstanceMetric::up(0));
    // 5 * MAX^2 / (5 * MAX + 1) = MAX - 0.2: rounds to MAX; 5 * MAX / 6 ends in .5: up.
    assert_eq!(s.aggregate(1, 1, Aggregation::Weighted), Some(u32::MAX));
    assert_eq!(s.aggregate(1, 1, Aggregation::Mean), Some(3_579_139_413));
    assert_eq!(s.aggregate(1, 1, Aggregation::Min), Some(0));
}

#[test]
fn per_service_method() {
    let mut p = AggregationPolicy::new(Aggregation::Mean);
    p.set(2, Aggregation::Min);
    let mut s = CatsState::new();
    for svc in [1, 2] {
        s.report(5, svc, 1, InstanceMetric::up(10));
        s.report(5, svc, 2, InstanceMetric::up(30));
    }
    assert_eq!(s.published(5, &p), BTreeMap::from([(1, 20), (2, 10)]));
    p.unset(2);
    assert_eq!(s.published(5, &p), BTreeMap::from([(1, 20), (2, 20)]));
    assert_eq!(p.method(9), Aggregation::Mean);
}

#[test]
fn advertisements_and_precedence() {
    let min = AggregationPolicy::default();
    let mut s = CatsState::new();
    // PE1 is local, PE2 and PE3 are known by their advertisements only.
    s.report(1, 1, 11, InstanceMetric::up(25));
    s.advertise(2, 1, 28);
    s.advertise(3, 1, 35);
    s.advertise(3, 2, 5);
    // The local PE's own stale advertisement is ignored: its reports decide.
    s.advertise(1, 1, 1);
    s.advertise(1, 9, 1);
    let g = s.grib(1, &min);
    assert_eq!(pes(g.routes(1)), [(1, 25), (2, 28), (3, 35)]);
    assert_eq!(pes(g.routes(2)), [(3, 5)]);
    assert!(g.routes(9).is_empty());
    assert_eq!(g.len(), 2);
    // From PE2's point of view PE1's advertisement counts only where PE1 has no report,
    // and PE2's own advertisement never does (it has no report: it offers nothing).
    assert_eq!(pes(s.grib(2, &min).routes(9)), [(1, 1)]);
    assert_eq!(pes(s.grib(2, &min).routes(1)), [(1, 25), (3, 35)]);

    // Reports of a remote PE beat its advertisement, even when all are down.
    s.report(3, 1, 31, InstanceMetric::down(1));
    assert_eq!(pes(s.grib(1, &min).routes(1)), [(1, 25), (2, 28)]);
    assert_eq!(s.withdraw(3, 1, 31), Some(InstanceMetric::down(1)));
    assert_eq!(pes(s.grib(1, &min).routes(1)), [(1, 25), (2, 28), (3, 35)]);
    assert_eq!(s.unadvertise(3, 1), Some(35));
    assert_eq!(s.unadvertise(3, 1), None);
    assert_eq!(pes(s.grib(1, &min).routes(1)), [(1, 25), (2, 28)]);

    // Ties: both best PEs listed, by ID.
    s.advertise(2, 1, 25);
    assert_eq!(pes(s.grib(1, &min).best(1)), [(1, 25), (2, 25)]);
}

#[test]
fn withdraw_instance_removes_all_its_services() {
    let mut s = CatsState::new();
    for svc in 1..=3 {
        s.report(4, svc, 44, InstanceMetric::up(svc));
        s.report(4, svc, 41, InstanceMetric::up(100));
    }
    s.report(5, 1, 44, InstanceMetric::up(1));
    assert_eq!(s.withdraw_instance(4, 44), 3);
    assert_eq!(s.report_count(), 4);
    assert_eq!(s.instance(5, 1, 44), Some(&InstanceMetric::up(1)));
    assert_eq!(s.instance(4, 1, 44), None);
    assert_eq!(
        s.published(4, &AggregationPolicy::default()),
        BTreeMap::from([(1, 100), (2, 100), (3, 100)])
    );
    assert_eq!(s.withdraw_instance(4, 44), 0);
}

#[test]
fn parses_instance_values() {
    let ok = |s: &str| s.parse::<InstanceMetric>().unwrap();
    assert_eq!(ok("26"), InstanceMetric::up(26));
    assert_eq!(ok("20,down"), InstanceMetric::down(20));
    assert_eq!(
        ok(" 34 , up , 4 "),
        InstanceMetric::up(34).with_weight(nz(4))
    );
    assert_eq!(
        ok("0,down,4294967295"),
        InstanceMetric::down(0).with_weight(nz(u32::MAX))
    );
    assert_eq!(ok("4294967295,up"), InstanceMetric::up(u32::MAX));
    // Weight 0: no capacity, counted as down.
    assert_eq!(ok("7,up,0"), InstanceMetric::down(7));
    assert_eq!(InstanceMetric::new(7, true, 0), InstanceMetric::down(7));
    assert_eq!(
        InstanceMetric::new(7, true, 2),
        InstanceMetric::up(7).with_weight(nz(2))
    );
    for m in [
        InstanceMetric::up(7),
        InstanceMetric::down(9).with_weight(nz(3)),
    ] {
        assert_eq!(ok(&m.to_string()), m);
    }
    assert_eq!(
        InstanceMetric::down(9).with_weight(nz(3)).to_string(),
        "9,down,3"
    );

    let e = |s: &str| s.parse::<InstanceMetric>().unwrap_err().to_string();
    assert_eq!(
        e("fast"),
        "instance metric: expected a decimal metric 0..=4294967295 first (e.g. \"26\" or \
         \"26,down\"), got \"fast\""
    );
    for bad in ["", "-1", "+3", "4294967296", "1e3", "12 3", "0x10", ",up"] {
        assert!(
            e(bad).starts_with("instance metric: expected a decimal"),
            "{bad}"
        );
    }
    assert_eq!(
        e("3,up,-1"),
        "instance metric weight: expected a decimal weight 0..=4294967295, got \"-1\""
    );
    assert!(e("3,up,").contains("weight: expected a decimal weight"));
    assert_eq!(
        e("3,sideways"),
        "instance metric state: expected `up` or `down` after the metric, got \"sideways\""
    );
    assert!(e("3,").contains("state: expected `up` or `down`"));
    assert!(e("3,up,1,2").contains("at most 3 fields: metric,up|down[,weight]"));
    // A huge untrusted value is quoted cut short.
    let long = format!("3,{}", "x".repeat(10_000));
    let msg = e(&long);
    assert!(msg.len() < 200, "{msg}");
    assert!(msg.ends_with("... (10000 bytes)"), "{msg}");
}

#[test]
fn parses_advertisements_and_methods() {
    assert_eq!(parse_advertisement("26"), Ok(26));
    assert_eq!(
        parse_advertisement(&format_advertisement(u32::MAX)),
        Ok(u32::MAX)
    );
    assert_eq!(
        parse_advertisement("26,up").unwrap_err().to_string(),
        "advertised metric: expected a decimal metric 0..=4294967295, got \"26,up\""
    );
    assert!(parse_advertisement("").is_err());
    for m in [Aggregation::Min, Aggregation::Mean, Aggregation::Weighted] {
        assert_eq!(m.name().parse::<Aggregation>(), Ok(m));
    }
    assert_eq!(
        "median".parse::<Aggregation>().unwrap_err().to_string(),
        "aggregation method: expected one of \"min\", \"mean\", \"weighted\", got \"median\""
    );
}

// ----------------------------------------------------------------------------------------
// Property tests: the state against a from-scratch recomputation with plain Vec scans.
// ----------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Report(PeId, ServiceId, InstanceId, InstanceMetric),
    Withdraw(PeId, ServiceId, InstanceId),
    WithdrawInstance(PeId, InstanceId),
    Advertise(PeId, ServiceId, u32),
    Unadvertise(PeId, ServiceId),
}

fn metric() -> impl Strategy<Value = u32> {
    // Small values make ties and equal aggregates; large ones test the arithmetic.
    prop_oneof![3 => 0u32..40, 1 => any::<u32>(), 1 => Just(u32::MAX)]
}

fn report() -> impl Strategy<Value = InstanceMetric> {
    (
        metric(),
        prop::bool::weighted(0.75),
        prop::option::of(prop_oneof![1u32..5, Just(u32::MAX), 1u32..=u32::MAX]),
    )
        .prop_map(|(metric, up, w)| InstanceMetric {
            metric,
            up,
            weight: w.and_then(NonZeroU32::new),
        })
}

fn op() -> impl Strategy<Value = Op> {
    let pe = 0u32..4;
    let svc = 0u32..4;
    let inst = 0u32..5;
    prop_oneof![
        6 => (pe.clone(), svc.clone(), inst.clone(), report())
            .prop_map(|(p, s, i, m)| Op::Report(p, s, i, m)),
        1 => (pe.clone(), svc.clone(), inst.clone()).prop_map(|(p, s, i)| Op::Withdraw(p, s, i)),
        1 => (pe.clone(), inst).prop_map(|(p, i)| Op::WithdrawInstance(p, i)),
        2 => (pe.clone(), svc.clone(), metric()).prop_map(|(p, s, m)| Op::Advertise(p, s, m)),
        1 => (pe, svc).prop_map(|(p, s)| Op::Unadvertise(p, s)),
    ]
}

/// The reference: flat vectors, every question answered by scanning them.
#[derive(Default)]
struct Reference {
    reports: Vec<((PeId, ServiceId, InstanceId), InstanceMetric)>,
    advertised: Vec<((PeId, ServiceId), u32)>,
}

impl Reference {
    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Report(p, s, i, m) => {
                self.reports.retain(|(k, _)| *k != (p, s, i));
                self.reports.push(((p, s, i), m));
            }
            Op::Withdraw(p, s, i) => self.reports.retain(|(k, _)| *k != (p, s, i)),
            Op::WithdrawInstance(p, i) => self.reports.retain(|(k, _)| !(k.0 == p && k.2 == i)),
            Op::Advertise(p, s, m) => {
                self.advertised.retain(|(k, _)| *k != (p, s));
                self.advertised.push(((p, s), m));
            }
            Op::Unadvertise(p, s) => self.advertised.retain(|(k, _)| *k != (p, s)),
        }
    }

    /// Aggregate of the live reports of (pe, service), written independently of
    /// `Aggregation::apply`: rounding as floor((2*sum + W) / (2*W)).
    fn aggregate(&self, pe: PeId, svc: ServiceId, m: Aggregation) -> Option<u32> {
        let live: Vec<&InstanceMetric> = self
            .reports
            .iter()
            .filter(|(k, r)| k.0 == pe && k.1 == svc && r.up)
            .map(|(_, r)| r)
            .collect();
        if live.is_empty() {
            return None;
        }
        let weight = |r: &InstanceMetric| match m {
            Aggregation::Weighted => r.weight.map_or(1u128, |w| u128::from(w.get())),
            _ => 1,
        };
        let out = match m {
            Aggregation::Min => live.iter().map(|r| u128::from(r.metric)).min()?,
            _ => {
                let w: u128 = live.iter().map(|r| weight(r)).sum();
                let s: u128 = live.iter().map(|r| weight(r) * u128::from(r.metric)).sum();
                (2 * s + w) / (2 * w)
            }
        };
        Some(out as u32)
    }

    fn has_reports(&self, pe: PeId, svc: ServiceId) -> bool {
        self.reports.iter().any(|(k, _)| k.0 == pe && k.1 == svc)
    }

    fn grib(
        &self,
        local: PeId,
        policy: &AggregationPolicy,
    ) -> BTreeMap<ServiceId, Vec<(u32, PeId)>> {
        let mut out: BTreeMap<ServiceId, Vec<(u32, PeId)>> = BTreeMap::new();
        for svc in 0..4 {
            let mut v = Vec::new();
            for pe in 0..4 {
                if self.has_reports(pe, svc) {
                    if let Some(m) = self.aggregate(pe, svc, policy.method(svc)) {
                        v.push((m, pe));
                    }
                } else if pe != local {
                    if let Some((_, m)) = self.advertised.iter().find(|(k, _)| *k == (pe, svc)) {
                        v.push((*m, pe));
                    }
                }
            }
            v.sort();
            if !v.is_empty() {
                out.insert(svc, v);
            }
        }
        out
    }

    fn lrib(&self, pe: PeId) -> BTreeMap<ServiceId, Vec<(u32, InstanceId, bool)>> {
        let mut out: BTreeMap<ServiceId, Vec<(u32, InstanceId, bool)>> = BTreeMap::new();
        for ((p, s, i), r) in &self.reports {
            if *p == pe {
                out.entry(*s).or_default().push((r.metric, *i, r.up));
            }
        }
        for v in out.values_mut() {
            v.sort();
        }
        out
    }
}

fn method() -> impl Strategy<Value = Aggregation> {
    prop_oneof![
        Just(Aggregation::Min),
        Just(Aggregation::Mean),
        Just(Aggregation::Weighted)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ribs_match_a_recomputation_from_scratch(
        ops in prop::collection::vec(op(), 0..80),
        default in method(),
        overrides in prop::collection::vec((0u32..4, method()), 0..3),
        local in 0u32..4,
    ) {
        let mut policy = AggregationPolicy::new(default);
        for (s, m) in overrides {
            policy.set(s, m);
        }
        let mut state = CatsState::new();
        let mut reference = Reference::default();
        for op in &ops {
            match *op {
                Op::Report(p, s, i, m) => { state.report(p, s, i, m); }
                Op::Withdraw(p, s, i) => { state.withdraw(p, s, i); }
                Op::WithdrawInstance(p, i) => { state.withdraw_instance(p, i); }
                Op::Advertise(p, s, m) => { state.advertise(p, s, m); }
                Op::Unadvertise(p, s) => { state.unadvertise(p, s); }
            }
            reference.apply(op);
        }

        let grib: BTreeMap<ServiceId, Vec<(u32, PeId)>> = state
            .grib(local, &policy)
            .iter()
            .map(|(s, r)| (s, r.iter().map(|x| (x.metric, x.pe)).collect()))
            .collect();
        prop_assert_eq!(&grib, &reference.grib(local, &policy));

        for pe in 0..4 {
            let lrib: BTreeMap<ServiceId, Vec<(u32, InstanceId, bool)>> = state
                .lrib(pe)
                .iter()
                .map(|(s, r)| (s, r.iter().map(|x| (x.metric, x.instance, x.up)).collect()))
                .collect();
            prop_assert_eq!(lrib, reference.lrib(pe));

            let published = state.published(pe, &policy);
            for svc in 0..4 {
                let want = reference.aggregate(pe, svc, policy.method(svc));
                prop_assert_eq!(published.get(&svc).copied(), want);
                // The local PE's GRIB entry is exactly what it publishes.
                if pe == local {
                    let mine = grib.get(&svc).and_then(|v| v.iter().find(|x| x.1 == pe));
                    prop_assert_eq!(mine.map(|x| x.0), want);
                }
            }
        }
    }

    #[test]
    fn aggregates_lie_between_the_live_extremes(
        reports in prop::collection::vec(report(), 0..20),
        m in method(),
    ) {
        let live: Vec<u32> = reports.iter().filter(|r| r.up).map(|r| r.metric).collect();
        let got = m.apply(&reports);
        match (live.iter().min(), live.iter().max()) {
            (Some(lo), Some(hi)) => {
                let got = got.expect("an aggregate when some instance is up");
                prop_assert!(*lo <= got && got <= *hi, "{} not in {}..={}", got, lo, hi);
                if m == Aggregation::Min {
                    prop_assert_eq!(got, *lo);
                }
            }
            _ => prop_assert_eq!(got, None),
        }
        // Order does not matter.
        let mut rev = reports.clone();
        rev.reverse();
        prop_assert_eq!(m.apply(&rev), got);
    }

    #[test]
    fn instance_values_round_trip_and_never_panic(m in report(), junk in ".{0,40}") {
        prop_assert_eq!(m.to_string().parse::<InstanceMetric>(), Ok(m));
        let _ = junk.parse::<InstanceMetric>();
        let _ = parse_advertisement(&junk);
    }
}
