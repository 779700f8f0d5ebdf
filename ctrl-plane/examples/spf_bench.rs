//! Benchmark of the path computation (`ctrl_plane::path`) and of the MPLS compilation on a
//! seeded random topology (default 10k nodes, 50k links, each link two directed edges):
//!
//! - `spf`: Dijkstra with ECMP first hops from `--sources` random sources, and the same
//!   sources through a textbook baseline in this file (adjacency lists, binary heap,
//!   distances only): the speed ratio is baseline time / SPF time;
//! - `anycast`: the reverse multi-source SPF toward random 4-member groups;
//! - `astar`: SLA-constrained searches between random pairs (SLA: delay within 1.3x the
//!   least delay, jitter within 2/3 of the least-delay path's, 2 % loss, edges of 1 Gb/s
//!   or more; the unconstrained search that sets the SLA is not timed);
//! - `compile`: the MPLS tables of one node (one prefix SID per node, 16 anycast groups).
//!
//! Prints `key=value` pairs on one line (what perf/bench-spf.sh reads), then the same as
//! JSON. Times are milliseconds, medians and 99th percentiles over the runs.
//!
//! usage: cargo run --release -p ctrl-plane --example spf_bench -- [--nodes N] [--links L]
//!        [--sources S] [--queries Q] [--seed X]

use std::hint::black_box;
use std::time::Instant;

use ctrl_plane::compile::mpls::{
    compile_mpls, AnycastMembership, MplsCompileOptions, MplsLink, MplsNode, MplsTopology,
    SrgbBlock,
};
use ctrl_plane::path::{EdgeAttrs, Graph, GraphBuilder, NodeId, Sla, SlaError, SlaSearch, Spf};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Args {
    nodes: u32,
    links: u64,
    sources: usize,
    queries: usize,
    seed: u64,
}

fn args() -> Args {
    let mut a = Args {
        nodes: 10_000,
        links: 50_000,
        sources: 200,
        queries: 200,
        seed: 4,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(k) = it.next() {
        let v = it
            .next()
            .unwrap_or_else(|| usage(&format!("{k} needs a value")));
        let num = |v: &str| -> u64 {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("{k}: not a number: {v}")))
        };
        match k.as_str() {
            "--nodes" => a.nodes = num(v) as u32,
            "--links" => a.links = num(v),
            "--sources" => a.sources = num(v) as usize,
            "--queries" => a.queries = num(v) as usize,
            "--seed" => a.seed = num(v),
            _ => usage(&format!("unknown argument {k}")),
        }
    }
    if a.nodes < 2 || a.links < u64::from(a.nodes) - 1 || a.sources == 0 || a.queries == 0 {
        usage("need --nodes >= 2, --links >= nodes - 1, --sources and --queries >= 1");
    }
    a
}

fn usage(msg: &str) -> ! {
    eprintln!("spf_bench: {msg}");
    eprintln!("usage: spf_bench [--nodes N] [--links L] [--sources S] [--queries Q] [--seed X]");
    std::process::exit(2)
}

/// A random connected topology: a random tree plus random links; each link both ways
/// with the same attributes. Returns the links as (a, b, attrs).
fn topology(rng: &mut Rng, n: u32, links: u64) -> Vec<(u32, u32, EdgeAttrs)> {
    let attrs = |rng: &mut Rng| EdgeAttrs {
        metric: 1 + rng.below(100) as u32,
        delay_us: 10 + rng.below(5_000) as u32,
        jitter_us: rng.below(500) as u32,
        loss_ppm: if rng.below(4) == 0 {
            rng.below(5_000) as u32
        } else {
            0
        },
        bandwidth_kbps: [100_000, 1_000_000, 10_000_000, 100_000_000][rng.below(4) as usize],
    };
    let mut out = Vec::with_capacity(links as usize);
    for v in 1..n {
        let u = rng.below(u64::from(v)) as u32;
        let a = attrs(rng);
        out.push((u, v, a));
    }
    while (out.len() as u64) < links {
        let u = rng.below(u64::from(n)) as u32;
        let v = rng.below(u64::from(n)) as u32;
        if u != v {
            let a = attrs(rng);
            out.push((u, v, a));
        }
    }
    out
}

/// The textbook baseline: adjacency lists, lazy binary heap, distances only.
fn baseline_dijkstra(adj: &[Vec<(u32, u32)>], s: u32) -> Vec<u64> {
    let mut dist = vec![u64::MAX; adj.len()];
    let mut heap = BinaryHeap::new();
    dist[s as usize] = 0;
    heap.push(Reverse((0u64, s)));
    while let Some(Reverse((d, u))) = heap.pop() {
        if d > dist[u as usize] {
            continue;
        }
        for &(v, w) in &adj[u as usize] {
            let nd = d + u64::from(w);
            if nd < dist[v as usize] {
                dist[v as usize] = nd;
                heap.push(Reverse((nd, v)));
            }
        }
    }
    dist
}

/// (median, p99) of `ms`.
fn stats(ms: &mut [f64]) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

fn time<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let t = Instant::now();
    let r = f();
    (t.elapsed().as_secs_f64() * 1e3, r)
}

fn main() {
    let a = args();
    let mut rng = Rng(a.seed);
    let links = topology(&mut rng, a.nodes, a.links);

    let (build_ms, g) = time(|| {
        let mut b = GraphBuilder::new();
        for v in 0..a.nodes {
            b.add_node(&format!("n{v}")).expect("node");
        }
        for &(u, v, attrs) in &links {
            b.add_bidirectional(u, v, attrs).expect("edge");
        }
        b.build()
    });
    let mut adj: Vec<Vec<(u32, u32)>> = vec![Vec::new(); a.nodes as usize];
    for e in 0..g.edge_count() as u32 {
        let r = g.edge(e).expect("edge");
        adj[r.from as usize].push((r.to, r.attrs.metric));
    }
    let sources: Vec<NodeId> = (0..a.sources)
        .map(|_| rng.below(u64::from(a.nodes)) as NodeId)
        .collect();

    // SPF with ECMP vs the baseline, interleaved, same sources.
    let mut spf = Spf::new();
    let mut tree = spf.run(&g, sources[0]).expect("spf"); // warm-up
    let (mut spf_ms, mut base_ms) = (Vec::new(), Vec::new());
    let mut ecmp_nodes = 0usize;
    for &s in &sources {
        let (t, _) = time(|| spf.run_into(&g, s, &mut tree).expect("spf"));
        spf_ms.push(t);
        let (t, d) = time(|| baseline_dijkstra(&adj, s));
        base_ms.push(t);
        assert_eq!(tree.distances(), &d[..], "SPF and baseline disagree");
        ecmp_nodes += g.nodes().filter(|&v| tree.first_hops(v).len() > 1).count();
    }
    let ratios: Vec<f64> = base_ms.iter().zip(&spf_ms).map(|(b, s)| b / s).collect();
    let mut ratios = ratios;
    let (ratio, _) = stats(&mut ratios);
    let (spf_med, spf_p99) = stats(&mut spf_ms);
    let (base_med, base_p99) = stats(&mut base_ms);

    // Anycast: reverse SPF toward groups of 4.
    let mut any_ms = Vec::new();
    for _ in 0..a.sources {
        let members: Vec<NodeId> = (0..4)
            .map(|_| rng.below(u64::from(a.nodes)) as NodeId)
            .collect();
        let (t, to) = time(|| spf.run_to_set(&g, &members).expect("to set"));
        black_box(to.next_hops(0));
        any_ms.push(t);
    }
    let (any_med, any_p99) = stats(&mut any_ms);

    // SLA A*.
    let mut search = SlaSearch::new();
    let (mut astar_ms, mut labels) = (Vec::new(), Vec::new());
    let (mut feasible, mut over_budget) = (0usize, 0usize);
    for _ in 0..a.queries {
        let s = rng.below(u64::from(a.nodes)) as NodeId;
        let t = rng.below(u64::from(a.nodes)) as NodeId;
        let sla = sla_for(&mut search, &g, s, t);
        let (ms, r) = time(|| search.best(&g, s, t, &sla));
        match r {
            Ok(Some(_)) => feasible += 1,
            Ok(None) => {}
            Err(SlaError::LabelBudgetExceeded { .. }) => over_budget += 1,
            Err(e) => panic!("{e}"),
        }
        astar_ms.push(ms);
        labels.push(search.labels_created() as f64);
    }
    let (astar_med, astar_p99) = stats(&mut astar_ms);
    let (labels_med, labels_p99) = stats(&mut labels);

    // MPLS compilation of one node's tables.
    let topo = mpls_topology(&g, &links, &mut rng);
    let mut compile_ms = Vec::new();
    let mut lfib_entries = 0;
    for i in 0..5 {
        let me = format!("n{}", sources[i % sources.len()]);
        let (t, c) = time(|| compile_mpls(&topo, &me, &MplsCompileOptions::default()));
        let c = c.expect("compile");
        lfib_entries = c.config.lfib.len();
        compile_ms.push(t);
    }
    let (compile_med, compile_p99) = stats(&mut compile_ms);

    let fields: Vec<(&str, String)> = vec![
        ("nodes", a.nodes.to_string()),
        ("links", a.links.to_string()),
        ("edges", g.edge_count().to_string()),
        ("build_ms", format!("{build_ms:.2}")),
        ("sources", a.sources.to_string()),
        ("spf_median_ms", format!("{spf_med:.3}")),
        ("spf_p99_ms", format!("{spf_p99:.3}")),
        ("baseline_median_ms", format!("{base_med:.3}")),
        ("baseline_p99_ms", format!("{base_p99:.3}")),
        ("speed_ratio", format!("{ratio:.3}")),
        (
            "ecmp_nodes_per_spf",
            format!("{:.0}", ecmp_nodes as f64 / a.sources as f64),
        ),
        ("anycast_median_ms", format!("{any_med:.3}")),
        ("anycast_p99_ms", format!("{any_p99:.3}")),
        ("queries", a.queries.to_string()),
        ("astar_median_ms", format!("{astar_med:.3}")),
        ("astar_p99_ms", format!("{astar_p99:.3}")),
        ("astar_labels_median", format!("{labels_med:.0}")),
        ("astar_labels_p99", format!("{labels_p99:.0}")),
        ("astar_feasible", feasible.to_string()),
        ("astar_over_budget", over_budget.to_string()),
        ("compile_median_ms", format!("{compile_med:.2}")),
        ("compile_p99_ms", format!("{compile_p99:.2}")),
        ("compile_lfib_entries", lfib_entries.to_string()),
    ];
    let kv: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("{}", kv.join(" "));
    let js: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("\"{k}\": {v}"))
        .collect();
    println!("{{{}}}", js.join(", "));
}

/// An SLA that is tight but usually feasible for `s -> t`: 1.3x the least delay and the
/// least jitter (each found by an unconstrained search on its own), 2 % loss, 1 Gb/s.
fn sla_for(search: &mut SlaSearch, g: &Graph, s: NodeId, t: NodeId) -> Sla {
    let wide = Sla {
        min_bandwidth_kbps: 1_000_000,
        ..Sla::default()
    };
    let least = search.best(g, s, t, &wide).ok().flatten();
    let (d, j) = least.map_or((0, 0), |p| (p.delay_us, p.jitter_us));
    Sla {
        max_delay_us: d + d * 3 / 10,
        // The least-delay path's jitter, cut by a third: forces a detour when possible.
        max_jitter_us: j - j / 3,
        max_loss: 0.02,
        min_bandwidth_kbps: 1_000_000,
    }
}

/// The benchmark topology as MPLS nodes: SRGB 16000 + 20000 labels each, prefix SID = node
/// index, 16 anycast groups of 4 random members (indexes 15000..).
fn mpls_topology(g: &Graph, links: &[(u32, u32, EdgeAttrs)], rng: &mut Rng) -> MplsTopology {
    let mut nodes: Vec<MplsNode> = g
        .nodes()
        .map(|v| MplsNode {
            name: g.name(v).unwrap_or_default().to_string(),
            srgb: Some(SrgbBlock::new(16_000, 20_000)),
            prefix_sid: Some(v),
            anycast: Vec::new(),
        })
        .collect();
    for k in 0..16u32 {
        for _ in 0..4 {
            let m = rng.below(nodes.len() as u64) as usize;
            nodes[m].anycast.push(AnycastMembership {
                group: format!("group-{k}"),
                index: 15_000 + k,
            });
        }
    }
    let name = |v: u32| g.name(v).unwrap_or_default();
    MplsTopology {
        nodes,
        links: links
            .iter()
            .flat_map(|&(u, v, a)| MplsLink::both(name(u), name(v), a.metric))
            .collect(),
    }
}
