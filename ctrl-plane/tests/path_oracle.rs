//! The path computation of `ctrl_plane::path` checked against an independent oracle:
//! networkx (Debian's `/usr/bin/python3` with `python3-networkx`, installed by
//! `scripts/install-deps.sh`), through `tests/oracle/paths.py`.
//!
//! - SPF: ~30 seeded random directed graphs of 20..200 nodes (small integer metrics, so
//!   many equal-cost paths; parallel edges; unreachable parts): every distance and every
//!   ECMP first-hop set equals networkx's shortest path lengths and the first hops of
//!   `nx.all_shortest_paths`, for several sources.
//! - Anycast: the nearest members of random sets, from the same sources, and the reverse
//!   multi-source SPF toward each set.
//! - SLA search: on small graphs (8..12 nodes), random SLAs compared with a brute force
//!   over `nx.all_simple_edge_paths`: the whole Pareto set (delay, jitter, loss) of the
//!   feasible paths, hence the best path's totals, exactly (floats included); every path
//!   returned is re-checked against the raw edge list.
//! - MPLS compilation: the tables compiled for the six MPLS nodes of the draft's figure 2
//!   equal `[tables.mpls]` of `config/mpls-anycast-{r1,a1,a2,a3,a4,r3}.toml` (read by
//!   Python's tomllib).
//!
//! A `/usr/bin/python3` without networkx fails the test (it is never skipped).

use std::path::{Path, PathBuf};
use std::process::Command;

use ctrl_plane::compile::mpls::{compile_mpls, AdjacencyNaming, MplsCompileOptions, MplsTopology};
use ctrl_plane::path::{EdgeAttrs, Graph, GraphBuilder, NodeId, Sla, SlaPath, SlaSearch, Spf};
use fwd_core::mpls::config::MplsConfig;
use serde::{Deserialize, Serialize};

const PYTHON: &str = "/usr/bin/python3";

fn oracle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle")
}

/// Fails (never skips) when the oracle cannot run.
fn require_networkx() {
    let out = Command::new(PYTHON)
        .args(["-c", "import networkx; print(networkx.__version__)"])
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "{PYTHON} cannot import networkx ({}): run scripts/install-deps.sh (it installs \
             python3-networkx, the oracle of this test)",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!(
            "cannot run {PYTHON} ({e}): run scripts/install-deps.sh (Debian's python3 with \
             python3-networkx is the oracle of this test)"
        ),
    }
}

/// SplitMix64: a small seeded generator, so every run tests the same graphs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.range(0, 100) < percent
    }
}

/// One directed edge: from, to, metric, delay, jitter, loss ppm, bandwidth.
type Edge = (u32, u32, u32, u32, u32, u32, u64);

#[derive(Serialize)]
struct SlaQuery {
    source: u32,
    target: u32,
    max_delay_us: u64,
    max_jitter_us: u64,
    max_loss: f64,
    min_bandwidth_kbps: u64,
}

#[derive(Serialize)]
struct Case {
    name: String,
    nodes: u32,
    edges: Vec<Edge>,
    sources: Vec<u32>,
    anycast: Vec<Vec<u32>>,
    sla: Vec<SlaQuery>,
}

#[derive(Deserialize)]
struct SpfAnswer {
    source: u32,
    dist: Vec<Option<u64>>,
    first_hops: Vec<Vec<u32>>,
}

#[derive(Deserialize)]
struct AnycastAnswer {
    source: u32,
    set: usize,
    dist: Option<u64>,
    first_hops: Vec<u32>,
}

#[derive(Deserialize)]
struct SlaAnswer {
    /// (delay, jitter, bits of the loss as an f64).
    pareto: Vec<(u64, u64, u64)>,
    paths: u64,
}

#[derive(Deserialize)]
struct Answer {
    name: String,
    spf: Vec<SpfAnswer>,
    anycast: Vec<AnycastAnswer>,
    sla: Vec<SlaAnswer>,
}

/// A random directed graph: a random tree made bidirectional (mostly connected), extra
/// one-way and two-way edges, a few parallel edges, and sometimes a part that can be
/// left but not entered.
fn random_edges(rng: &mut Rng, n: u32, extra_per_node: u64, metric_max: u64) -> Vec<Edge> {
    let mut edges = Vec::new();
    let edge = |rng: &mut Rng, f: u32, t: u32| -> Edge {
        (
            f,
            t,
            rng.range(1, metric_max + 1) as u32,
            rng.range(1, 60) as u32,
            rng.range(0, 15) as u32,
            if rng.chance(30) {
                0
            } else {
                rng.range(1, 30_000) as u32
            },
            [100, 1_000, 10_000][rng.range(0, 3) as usize],
        )
    };
    let island = if n > 10 && rng.chance(30) { n - 3 } else { n };
    for v in 1..island {
        let u = rng.range(0, u64::from(v)) as u32;
        let e = edge(rng, u, v);
        edges.push(e);
        // Mostly the same attributes back, sometimes not.
        let back = if rng.chance(70) {
            (v, u, e.2, e.3, e.4, e.5, e.6)
        } else {
            edge(rng, v, u)
        };
        edges.push(back);
    }
    // The island's nodes only have edges out of it.
    for v in island..n {
        let u = rng.range(0, u64::from(island)) as u32;
        edges.push(edge(rng, v, u));
    }
    for _ in 0..u64::from(island) * extra_per_node / 2 {
        let f = rng.range(0, u64::from(island)) as u32;
        let t = rng.range(0, u64::from(island)) as u32;
        if f == t {
            continue;
        }
        edges.push(edge(rng, f, t));
        if rng.chance(50) {
            edges.push(edge(rng, t, f));
        }
        if rng.chance(5) {
            edges.push(edge(rng, f, t)); // parallel
        }
    }
    edges
}

fn build(n: u32, edges: &[Edge]) -> Graph {
    let mut b = GraphBuilder::new();
    for v in 0..n {
        assert_eq!(b.add_node(&v.to_string()).unwrap(), v);
    }
    for &(f, t, metric, delay_us, jitter_us, loss_ppm, bandwidth_kbps) in edges {
        b.add_edge(
            f,
            t,
            EdgeAttrs {
                metric,
                delay_us,
                jitter_us,
                loss_ppm,
                bandwidth_kbps,
            },
        )
        .unwrap();
    }
    b.build()
}

fn cases() -> Vec<Case> {
    let mut rng = Rng(0x5eed_0004_5eed_0004);
    let mut cases = Vec::new();
    // SPF and anycast: 30 graphs of 20..200 nodes.
    for i in 0..30 {
        let n = rng.range(20, 201) as u32;
        let metric_max = [2, 4, 10][i % 3];
        let edges = random_edges(&mut rng, n, 3, metric_max);
        let sources = (0..4).map(|_| rng.range(0, u64::from(n)) as u32).collect();
        let anycast = (0..3)
            .map(|_| {
                let k = rng.range(1, 6);
                (0..k).map(|_| rng.range(0, u64::from(n)) as u32).collect()
            })
            .collect();
        cases.push(Case {
            name: format!("spf-{i:02}-n{n}"),
            nodes: n,
            edges,
            sources,
            anycast,
            sla: Vec::new(),
        });
    }
    // SLA: 24 small graphs, brute-forced.
    for i in 0..24 {
        let n = rng.range(8, 13) as u32;
        let edges = random_edges(&mut rng, n, 5, 5);
        let sla = (0..6)
            .map(|_| {
                let source = rng.range(0, u64::from(n)) as u32;
                let mut target = rng.range(0, u64::from(n)) as u32;
                if target == source {
                    target = (source + 1) % n;
                }
                SlaQuery {
                    source,
                    target,
                    max_delay_us: if rng.chance(15) {
                        u64::MAX >> 12
                    } else {
                        rng.range(20, 250)
                    },
                    max_jitter_us: if rng.chance(20) {
                        u64::MAX >> 12
                    } else {
                        rng.range(3, 45)
                    },
                    max_loss: [0.0, 0.005, 0.02, 0.05, 1.0][rng.range(0, 5) as usize],
                    min_bandwidth_kbps: [0, 0, 500, 5_000][rng.range(0, 4) as usize],
                }
            })
            .collect();
        cases.push(Case {
            name: format!("sla-{i:02}-n{n}"),
            nodes: n,
            edges,
            sources: Vec::new(),
            anycast: Vec::new(),
            sla,
        });
    }
    cases
}

fn run_oracle(cases: &[Case]) -> Vec<Answer> {
    require_networkx();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.json");
    let output = dir.path().join("answers.json");
    std::fs::write(&input, serde_json::to_vec(cases).unwrap()).unwrap();
    let script = oracle_dir().join("paths.py");
    let out = Command::new(PYTHON)
        .arg(&script)
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap()
}

/// Re-checks a returned path against the raw edge list: it is a simple path from `q.source`
/// to `q.target` over existing edges with enough bandwidth, its totals are its edges'
/// (delivery multiplied in path order), and it meets the SLA.
fn check_path(case: &Case, q: &SlaQuery, p: &SlaPath) {
    let ctx = format!("{} {}->{}: {:?}", case.name, q.source, q.target, p.nodes);
    assert_eq!(p.nodes.first(), Some(&q.source), "{ctx}");
    assert_eq!(p.nodes.last(), Some(&q.target), "{ctx}");
    assert_eq!(p.edges.len() + 1, p.nodes.len(), "{ctx}");
    let mut seen = std::collections::HashSet::new();
    assert!(p.nodes.iter().all(|v| seen.insert(*v)), "{ctx}: not simple");
    // Graph edge ids are by source, then insertion order: rebuild that numbering.
    let mut by_source: Vec<&Edge> = case.edges.iter().collect();
    by_source.sort_by_key(|e| e.0); // stable: insertion order within a source
    let (mut delay, mut jitter, mut delivery, mut metric) = (0u64, 0u64, 1.0f64, 0u64);
    let mut bw = u64::MAX;
    for (k, &e) in p.edges.iter().enumerate() {
        let &(f, t, m, d, j, l, b) = by_source[e as usize];
        assert_eq!((f, t), (p.nodes[k], p.nodes[k + 1]), "{ctx}: edge {e}");
        assert!(b >= q.min_bandwidth_kbps, "{ctx}: edge {e} too thin");
        delay += u64::from(d);
        jitter += u64::from(j);
        delivery *= 1.0 - f64::from(l) / 1e6;
        metric += u64::from(m);
        bw = bw.min(b);
    }
    assert_eq!(
        (p.delay_us, p.jitter_us, p.loss, p.metric, p.bandwidth_kbps),
        (delay, jitter, 1.0 - delivery, metric, bw),
        "{ctx}: totals"
    );
    assert!(
        delay <= q.max_delay_us && jitter <= q.max_jitter_us && 1.0 - delivery <= q.max_loss,
        "{ctx}: does not meet the SLA"
    );
}

#[test]
fn spf_anycast_and_sla_match_networkx() {
    let cases = cases();
    let answers = run_oracle(&cases);
    assert_eq!(answers.len(), cases.len());
    let (mut spf_checked, mut ecmp, mut unreachable, mut anycast_checked) = (0, 0, 0, 0);
    let (mut sla_checked, mut feasible, mut pareto_multi, mut brute_paths) = (0, 0, 0, 0);
    let mut spf = Spf::new();
    let mut search = SlaSearch::new();
    for (case, answer) in cases.iter().zip(&answers) {
        assert_eq!(case.name, answer.name);
        let g = build(case.nodes, &case.edges);
        for want in &answer.spf {
            let tree = spf.run(&g, want.source).unwrap();
            for v in 0..case.nodes {
                let ctx = format!("{}: {} -> {v}", case.name, want.source);
                assert_eq!(tree.distance(v), want.dist[v as usize], "{ctx}: distance");
                assert_eq!(
                    tree.first_hops(v),
                    &want.first_hops[v as usize][..],
                    "{ctx}: first hops"
                );
                spf_checked += 1;
                ecmp += usize::from(want.first_hops[v as usize].len() > 1);
                unreachable += usize::from(want.dist[v as usize].is_none());
            }
        }
        for want in &answer.anycast {
            let members = &case.anycast[want.set];
            let ctx = format!("{}: {} -> set {members:?}", case.name, want.source);
            let near = spf.run(&g, want.source).unwrap().nearest(members);
            assert_eq!(
                near.as_ref().map(|x| x.distance),
                want.dist,
                "{ctx}: distance"
            );
            let hops = near.map(|x| x.first_hops).unwrap_or_default();
            assert_eq!(hops, want.first_hops, "{ctx}: first hops");
            let to_set = spf.run_to_set(&g, members).unwrap();
            assert_eq!(
                to_set.distance(want.source),
                want.dist,
                "{ctx}: reverse SPF"
            );
            assert_eq!(
                to_set.next_hops(want.source),
                &want.first_hops[..],
                "{ctx}: reverse SPF"
            );
            anycast_checked += 1;
        }
        for (q, want) in case.sla.iter().zip(&answer.sla) {
            let ctx = format!("{} {}->{}", case.name, q.source, q.target);
            let sla = Sla {
                max_delay_us: q.max_delay_us,
                max_jitter_us: q.max_jitter_us,
                max_loss: q.max_loss,
                min_bandwidth_kbps: q.min_bandwidth_kbps,
            };
            let all = search
                .alternatives(&g, q.source, q.target, &sla, usize::MAX)
                .unwrap();
            let got: Vec<(u64, u64, u64)> = all
                .iter()
                .map(|p| (p.delay_us, p.jitter_us, p.loss.to_bits()))
                .collect();
            assert_eq!(got, want.pareto, "{ctx}: Pareto set");
            for p in &all {
                check_path(case, q, p);
            }
            // The jitter and loss bounds to go only prune: the same Pareto set (the paths
            // themselves may differ among equals) with them computed up front, never, or
            // when the search grows (the default).
            for when in [Some(0), Some(usize::MAX)] {
                let mut other = SlaSearch::new();
                other.set_bounds_after(when);
                let again = other
                    .alternatives(&g, q.source, q.target, &sla, usize::MAX)
                    .unwrap();
                for p in &again {
                    check_path(case, q, p);
                }
                let again: Vec<(u64, u64, u64)> = again
                    .iter()
                    .map(|p| (p.delay_us, p.jitter_us, p.loss.to_bits()))
                    .collect();
                assert_eq!(again, got, "{ctx}: bounds after {when:?}");
            }
            let best = search.best(&g, q.source, q.target, &sla).unwrap();
            assert_eq!(best.as_ref(), all.first(), "{ctx}: best");
            let two = search
                .alternatives(&g, q.source, q.target, &sla, 2)
                .unwrap();
            assert_eq!(&two[..], &all[..all.len().min(2)], "{ctx}: first two");
            sla_checked += 1;
            feasible += usize::from(!all.is_empty());
            pareto_multi += usize::from(all.len() > 1);
            brute_paths += want.paths;
        }
    }
    eprintln!(
        "checked {spf_checked} SPF (source, node) pairs ({ecmp} with ECMP, {unreachable} \
         unreachable), {anycast_checked} anycast (source, set) pairs, {sla_checked} SLA \
         queries ({feasible} feasible, {pareto_multi} with several Pareto paths; {brute_paths} \
         simple paths brute-forced)"
    );
    // The generator must exercise what it claims to, or the comparison proves little.
    assert!(
        spf_checked > 10_000 && ecmp > 500 && unreachable > 20,
        "{ecmp} {unreachable}"
    );
    assert!(
        sla_checked == 144 && feasible > 40 && feasible < 140,
        "{feasible}"
    );
    assert!(pareto_multi > 10, "{pareto_multi}");
}

/// The topology of the draft's figure 2 as the config files describe it.
const FIGURE2: &str = r#"{
  "nodes": [
    {"name": "pe1", "prefix_sid": 10}, {"name": "pe2", "prefix_sid": 20},
    {"name": "pe3", "prefix_sid": 30}, {"name": "pe4", "prefix_sid": 40},
    {"name": "r1", "srgb": {"base": 7000, "size": 1001}},
    {"name": "a1", "srgb": {"base": 1000, "size": 1001}, "anycast": [{"group": "group-a", "index": 100}]},
    {"name": "a2", "srgb": {"base": 2000, "size": 1001}, "anycast": [{"group": "group-a", "index": 100}]},
    {"name": "a3", "srgb": {"base": 3000, "size": 1001}, "anycast": [{"group": "group-a", "index": 100}]},
    {"name": "a4", "srgb": {"base": 4000, "size": 1001}, "anycast": [{"group": "group-a", "index": 100}]},
    {"name": "r3", "srgb": {"base": 6000, "size": 1001}}
  ],
  "links": []
}"#;

/// Sorts what the file format leaves unordered.
fn normalise(mut c: MplsConfig) -> MplsConfig {
    c.lfib.sort_by_key(|e| e.label);
    for e in &mut c.lfib {
        e.paths.sort_by(|a, b| a.adjacency.cmp(&b.adjacency));
    }
    for v in &mut c.vlfib {
        v.entry.sort_by_key(|e| e.sid);
        for e in &mut v.entry {
            e.paths.sort_by(|a, b| a.adjacency.cmp(&b.adjacency));
        }
    }
    c
}

#[test]
fn compiled_mpls_tables_equal_the_figure_4_config_files() {
    let mut topo: MplsTopology = serde_json::from_str(FIGURE2).unwrap();
    for (a, b) in [
        ("pe1", "r1"),
        ("pe2", "r1"),
        ("r1", "a1"),
        ("r1", "a2"),
        ("a1", "a3"),
        ("a1", "a4"),
        ("a2", "a3"),
        ("a2", "a4"),
        ("a3", "r3"),
        ("a4", "r3"),
        ("r3", "pe3"),
        ("r3", "pe4"),
    ] {
        topo.links
            .extend(ctrl_plane::compile::mpls::MplsLink::both(a, b, 10));
    }
    let nodes = ["r1", "a1", "a2", "a3", "a4", "r3"];
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let files: Vec<PathBuf> = nodes
        .iter()
        .map(|n| config.join(format!("mpls-anycast-{n}.toml")))
        .collect();
    let out = Command::new(PYTHON)
        .arg(oracle_dir().join("toml2json.py"))
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PYTHON} ({e}): run scripts/install-deps.sh"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Vec<MplsConfig> = serde_json::from_slice(&out.stdout).unwrap();
    let opts = MplsCompileOptions {
        adjacency_naming: AdjacencyNaming::SelfDashNeighbour,
    };
    for (node, want) in nodes.iter().zip(want) {
        let got = compile_mpls(&topo, node, &opts).unwrap();
        assert!(got.warnings.is_empty(), "{node}: {:?}", got.warnings);
        assert!(!want.lfib.is_empty(), "{node}: the file has an LFIB");
        assert_eq!(normalise(got.config), normalise(want), "{node}");
    }
}

/// The oracle itself, on a case small enough to compute by hand (guards against an oracle
/// that agrees with anything, e.g. one that reads its input wrong).
#[test]
fn oracle_answers_a_hand_computed_case() {
    let edges: Vec<Edge> = vec![
        (0, 1, 3, 1, 0, 0, 100),
        (1, 2, 4, 1, 0, 0, 100),
        (0, 2, 9, 1, 0, 0, 100),
    ];
    let case = Case {
        name: "tiny".into(),
        nodes: 3,
        edges,
        sources: vec![0],
        anycast: vec![vec![2]],
        sla: Vec::new(),
    };
    let answers = run_oracle(std::slice::from_ref(&case));
    assert_eq!(answers[0].spf[0].dist, [Some(0), Some(3), Some(7)]);
    assert_eq!(answers[0].spf[0].first_hops[2], [1]);
    assert_eq!(answers[0].anycast[0].dist, Some(7));
    assert_eq!(answers[0].anycast[0].first_hops, [1]);
    let g = build(3, &case.edges);
    let t = Spf::new().run(&g, 0).unwrap();
    assert_eq!(
        (t.distance(2), t.first_hops(2)),
        (Some(7), &[1 as NodeId][..])
    );
}
