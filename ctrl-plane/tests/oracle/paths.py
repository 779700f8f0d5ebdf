#!/usr/bin/python3
"""Oracle for ctrl-plane/tests/path_oracle.rs: networkx answers to the questions the Rust
path computation (ctrl-plane/src/path/) answers, computed independently.

usage: /usr/bin/python3 paths.py CASES.json OUT.json

CASES.json is a list of cases:
  {"name": str, "nodes": N,
   "edges": [[from, to, metric, delay_us, jitter_us, loss_ppm, bandwidth_kbps], ...],
   "sources": [s, ...], "anycast": [[member, ...], ...],
   "sla": [{"source": s, "target": t, "max_delay_us": D, "max_jitter_us": J,
            "max_loss": L, "min_bandwidth_kbps": B}, ...]}
Edges are directed; parallel edges may occur.

OUT.json has, per case:
  "spf":     per source: "dist" (per node, null if unreachable) and "first_hops" (per
             node, sorted: the second node of every path nx.all_shortest_paths yields);
  "anycast": per source and per set: "dist" to the nearest member (null: none reachable)
             and the sorted first hops over all nearest members ([] at a member);
  "sla":     per query, by brute force over nx.all_simple_edge_paths on the edges with
             enough bandwidth: "pareto", the Pareto set of feasible (delay, jitter,
             delivery) as [delay, jitter, loss] sorted by (delay, jitter, loss), the
             loss as the 64 bits of its IEEE double (exact through JSON), and
             "paths", how many simple paths were looked at. Delivery is the product of
             (1 - loss_ppm / 1e6) in path order, loss = 1 - delivery, feasible when
             delay <= D, jitter <= J and loss <= L: the exact float arithmetic the Rust
             search documents.
"""

import json
import struct
import sys

import networkx as nx


def spf_answers(n, edges, sources):
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    for f, t, metric, *_ in edges:
        # Parallel edges: only the cheapest can be on a shortest path.
        if not g.has_edge(f, t) or g[f][t]["weight"] > metric:
            g.add_edge(f, t, weight=metric)
    out = []
    for s in sources:
        dist = nx.single_source_dijkstra_path_length(g, s, weight="weight")
        first = []
        for v in range(n):
            if v == s or v not in dist:
                first.append([])
                continue
            hops = {p[1] for p in nx.all_shortest_paths(g, s, v, weight="weight")}
            first.append(sorted(hops))
        out.append({"source": s, "dist": [dist.get(v) for v in range(n)], "first_hops": first})
    return out


def anycast_answers(spf, sets):
    out = []
    for tree in spf:
        s = tree["source"]
        for i, members in enumerate(sets):
            if s in members:
                out.append({"source": s, "set": i, "dist": 0, "first_hops": []})
                continue
            reach = [m for m in members if tree["dist"][m] is not None]
            if not reach:
                out.append({"source": s, "set": i, "dist": None, "first_hops": []})
                continue
            best = min(tree["dist"][m] for m in reach)
            hops = set()
            for m in reach:
                if tree["dist"][m] == best:
                    hops.update(tree["first_hops"][m])
            out.append({"source": s, "set": i, "dist": best, "first_hops": sorted(hops)})
    return out


def sla_answer(n, edges, q):
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(n))
    for f, t, _metric, delay, jitter, loss, bw in edges:
        if bw >= q["min_bandwidth_kbps"]:
            g.add_edge(f, t, delay=delay, jitter=jitter, loss=loss)
    feasible = set()
    count = 0
    for path in nx.all_simple_edge_paths(g, q["source"], q["target"]):
        count += 1
        delay = jitter = 0
        delivery = 1.0
        for f, t, k in path:
            a = g[f][t][k]
            delay += a["delay"]
            jitter += a["jitter"]
            delivery = delivery * (1.0 - a["loss"] / 1e6)
        if (
            delay <= q["max_delay_us"]
            and jitter <= q["max_jitter_us"]
            and 1.0 - delivery <= q["max_loss"]
        ):
            feasible.add((delay, jitter, delivery))
    pareto = [
        x
        for x in feasible
        if not any(
            y != x and y[0] <= x[0] and y[1] <= x[1] and y[2] >= x[2] for y in feasible
        )
    ]
    pareto.sort(key=lambda x: (x[0], x[1], -x[2]))
    # Loss as the bits of the IEEE double: JSON decimal parsers need not round-trip.
    return {"pareto": [[d, j, f64_bits(1.0 - p)] for d, j, p in pareto], "paths": count}


def f64_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def main():
    cases_file, out_file = sys.argv[1], sys.argv[2]
    with open(cases_file) as f:
        cases = json.load(f)
    results = []
    for c in cases:
        spf = spf_answers(c["nodes"], c["edges"], c["sources"])
        results.append(
            {
                "name": c["name"],
                "spf": spf,
                "anycast": anycast_answers(spf, c["anycast"]),
                "sla": [sla_answer(c["nodes"], c["edges"], q) for q in c["sla"]],
            }
        )
    with open(out_file, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
