//! Benchmark: from an etcd write to the table being live in the workers (issue 4, part I).
//!
//! The example starts its own etcd (Debian's `/usr/bin/etcd` on free loopback ports, a
//! temporary data directory, killed at the end) and, for each phase, a [`Controller`] for
//! fabric node `a` importing VNID 100 ([`OverlayContext`]). Its publish closure builds the
//! data-plane tables the way srgate does (`src/config.rs` `build_pipeline` after
//! `src/control.rs` `merge_overlay`): an [`SrouConfig`] with a's locator, a default next
//! hop and the compiled policies, an [`OverlayConfig`] with VRF 100 bound to port `p0`
//! and the compiled routes, both `build`-ed with port resolvers returning a fixed port id
//! and MAC, set into a [`Pipeline`], and published with its etcd revision through a
//! [`Publisher<(i64, Pipeline)>`]. A "worker" thread calls [`Reader::load`] in a loop, as
//! a poll loop does at its quiescent point, and records the [`Instant`] it first sees each
//! new revision.
//!
//! etcd is pre-populated so that the overlay compile has a path: `b` and `c` registered
//! (`/node/fabric/x`, `/service/fabric/x`), link state a->b and b->c; `a` registers itself
//! (the controller's registration). Every route is `/route/5/rt1/c:100/<prefix>` =
//! `100/c/`: egress c, reached through b.
//!
//! - Single change (twice: with the default settle delay of [`SyncOptions`] and with
//!   settle 0): `--single` times, one put of a new /32; latency = put start -> the worker
//!   sees a table whose revision is >= the put's. Also reported (medians): the put's own
//!   round trip, put start -> the publish closure starts (etcd commit, watch, settle,
//!   compile), the compile (the controller's own measure less the closure), the build,
//!   and the swap -> the worker's load.
//! - Bulk: `--bulk` distinct /24s written as fast as possible, in transactions of
//!   `--txn-ops` puts (etcd's default `--max-txn-ops` is 128) from `--clients` concurrent
//!   tasks; time from the first put to the worker seeing a revision >= the last
//!   transaction's; the publications during the bulk; the compile and build times of the
//!   last publication; then the same compile (and `compile_overlay` alone) and build
//!   again off-line on a snapshot of the 100k-route view, best of 5 (no watch traffic). Finally the worker runs `--probes` frames to
//!   random hosts of random bulk prefixes and as many to unrouted addresses through its
//!   live [`Pipeline::process`]: every one of the first must be encapsulated (SRoU), every
//!   one of the others dropped `overlay-no-route`, and the live VRF must hold every route,
//!   or the benchmark fails.
//!
//! Prints `key=value` pairs on one line (what `perf/bench-etcd-latency.sh` reads), then
//! the same figures as one JSON line. Times are microseconds (`_us`) or milliseconds
//! (`_ms`). Progress goes to stderr.
//!
//! usage: cargo run --release -p ctrl-plane --example etcd_to_live -- [--single N]
//!        [--bulk M] [--txn-ops K] [--clients C] [--gap-ms G] [--probes P]
//!        [--worker spin|yield|sleep-us:N] [--etcd PATH]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ctrl_plane::compile::overlay::{compile_overlay, OverlayContext};
use ctrl_plane::controller::{
    compile_view, CompileContext, Compiled, Controller, ControllerConfig,
};
use ctrl_plane::etcd::registration::NodeIdentity;
use ctrl_plane::etcd::schema::Locator;
use ctrl_plane::etcd::watch::{SyncOptions, Syncer};
use ctrl_plane::etcd::{connect, EtcdOptions, Role};
use etcd_client::{Client, DeleteOptions, Txn, TxnOp};
use fwd_core::buf::VecBuf;
use fwd_core::counters::{Handler, WorkerCounters};
use fwd_core::drop::DropReason;
use fwd_core::overlay::config::{OverlayConfig, VrfConfig};
use fwd_core::pipeline::{Action, Pipeline, WorkerCtx};
use fwd_core::rcu::{Publisher, Reader};
use fwd_core::srou::config::{AdjacencyConfig, LocatorConfig, PortRef, SrouConfig};
use fwd_core::srou::AclMode;

const NODE: &str = "a";
const VNID: u32 = 100;
const LOC_A: &str = "a/1/10.0.0.1:8811/198.51.100.1:8811/p0/1000/1000";
const LOC_B: &str = "b/1/10.0.0.2:8811/198.51.100.2:8811/p0/1000/1000";
const LOC_C: &str = "c/1/10.0.0.3:8811/198.51.100.3:8811/p0/1000/1000";
/// a's locator as the data plane knows it (the compiled policies' source).
const LOCAL_A: &str = "10.0.0.1:8811";
const PORT: PortRef = PortRef {
    id: 0,
    mac: [2, 0, 0, 0, 0, 1],
};
/// The route every phase starts with, to know when its controller is publishing.
const WARMUP_KEY: &str = "/route/5/rt1/c:100/192.0.2.0/24";
const ROUTE_VALUE: &str = "100/c/";

// ---------------------------------------------------------------------------------------
// Arguments.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Idle {
    /// Pure busy polling (srgate's default), with a spin-loop hint.
    Spin,
    /// `sched_yield` between loads: on shared cores the worker leaves the CPU to etcd and
    /// the control thread when they have work.
    Yield,
    /// Sleep between loads (srgate's `idle_sleep_us`).
    Sleep(Duration),
}

impl Idle {
    fn name(self) -> String {
        match self {
            Idle::Spin => "spin".into(),
            Idle::Yield => "yield".into(),
            Idle::Sleep(d) => format!("sleep-us:{}", d.as_micros()),
        }
    }
}

struct Args {
    single: usize,
    bulk: usize,
    txn_ops: usize,
    clients: usize,
    gap: Duration,
    probes: usize,
    worker: Idle,
    etcd: PathBuf,
    /// Where our etcd listens (set once it runs).
    etcd_endpoint: String,
}

fn args() -> Args {
    let mut a = Args {
        single: 200,
        bulk: 100_000,
        txn_ops: 128,
        clients: 4,
        gap: Duration::from_millis(5),
        probes: 1000,
        worker: Idle::Yield,
        etcd: PathBuf::from("/usr/bin/etcd"),
        etcd_endpoint: String::new(),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(k) = it.next() {
        let v = it
            .next()
            .unwrap_or_else(|| usage(&format!("{k} needs a value")));
        let num = |v: &str| -> usize {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("{k}: not a number: {v}")))
        };
        match k.as_str() {
            "--single" => a.single = num(v),
            "--bulk" => a.bulk = num(v),
            "--txn-ops" => a.txn_ops = num(v),
            "--clients" => a.clients = num(v),
            "--gap-ms" => a.gap = Duration::from_millis(num(v) as u64),
            "--probes" => a.probes = num(v),
            "--etcd" => a.etcd = PathBuf::from(v),
            "--worker" => {
                a.worker = match v.as_str() {
                    "spin" => Idle::Spin,
                    "yield" => Idle::Yield,
                    s => match s.strip_prefix("sleep-us:") {
                        Some(us) => Idle::Sleep(Duration::from_micros(num(us) as u64)),
                        None => usage(&format!("--worker: spin, yield or sleep-us:N, not {s}")),
                    },
                }
            }
            _ => usage(&format!("unknown argument {k}")),
        }
    }
    if a.single == 0 || a.txn_ops == 0 || a.clients == 0 {
        usage("need --single, --txn-ops and --clients >= 1");
    }
    // Distinct /24s in 10.0.0.0/8 upwards (see `bulk_prefix`), clear of the probes' misses.
    if a.bulk > 50 << 16 {
        usage("--bulk is at most 3276800 (distinct /24s from 10.0.0.0 to 59.255.255.0)");
    }
    a
}

fn usage(msg: &str) -> ! {
    eprintln!("etcd_to_live: {msg}");
    eprintln!(
        "usage: etcd_to_live [--single N] [--bulk M] [--txn-ops K] [--clients C] [--gap-ms G] \
         [--probes P] [--worker spin|yield|sleep-us:N] [--etcd PATH]"
    );
    std::process::exit(2)
}

// ---------------------------------------------------------------------------------------
// etcd.

/// The pid of our etcd, for the panic hook (release builds abort on panic: no `Drop`).
static ETCD_PID: AtomicU32 = AtomicU32::new(0);

/// One etcd member on loopback, with its data in a temporary directory; killed on drop.
struct Etcd {
    child: Child,
    endpoint: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

impl Etcd {
    fn start(bin: &PathBuf) -> Result<Etcd, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let (client, peer) = (free_port()?, free_port()?);
        let log = dir.path().join("etcd.log");
        let log_file = std::fs::File::create(&log).map_err(|e| format!("etcd log: {e}"))?;
        let child = Command::new(bin)
            .args([
                "--name=bench".to_string(),
                format!("--data-dir={}", dir.path().join("data").display()),
                format!("--listen-client-urls=http://127.0.0.1:{client}"),
                format!("--advertise-client-urls=http://127.0.0.1:{client}"),
                format!("--listen-peer-urls=http://127.0.0.1:{peer}"),
                format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer}"),
                format!("--initial-cluster=bench=http://127.0.0.1:{peer}"),
                "--initial-cluster-state=new".into(),
                "--log-level=warn".into(),
            ])
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| {
                format!(
                    "{} does not run ({e}): apt-get install etcd-server",
                    bin.display()
                )
            })?;
        ETCD_PID.store(child.id(), Ordering::SeqCst);
        let mut e = Etcd {
            child,
            endpoint: format!("127.0.0.1:{client}"),
            log,
            _dir: dir,
        };
        let t0 = Instant::now();
        while TcpStream::connect(&e.endpoint).is_err() {
            if let Ok(Some(st)) = e.child.try_wait() {
                return Err(format!("etcd exited ({st}): {}", e.log_text()));
            }
            if t0.elapsed() > Duration::from_secs(20) {
                return Err(format!("etcd did not listen: {}", e.log_text()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(e)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        ETCD_PID.store(0, Ordering::SeqCst);
    }
}

fn etcd_version(bin: &PathBuf) -> String {
    Command::new(bin)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("etcd Version: "))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "?".into())
}

// ---------------------------------------------------------------------------------------
// The controller's own timing: its "tables compiled and published" event carries the
// revision and the microseconds from the start of the compile to the end of `publish`.

/// revision -> the controller's micros (compile + publish closure).
fn controller_micros() -> &'static Mutex<BTreeMap<i64, u64>> {
    static M: OnceLock<Mutex<BTreeMap<i64, u64>>> = OnceLock::new();
    M.get_or_init(Mutex::default)
}

/// A minimal tracing subscriber: records the controller's publication timings and prints
/// warnings and errors to stderr.
struct Capture;

#[derive(Default)]
struct Fields {
    message: String,
    revision: Option<i64>,
    micros: Option<u64>,
    rest: Vec<String>,
}

impl tracing::field::Visit for Fields {
    fn record_i64(&mut self, f: &tracing::field::Field, v: i64) {
        match f.name() {
            "revision" => self.revision = Some(v),
            "micros" => self.micros = u64::try_from(v).ok(),
            n => self.rest.push(format!("{n}={v}")),
        }
    }
    fn record_u64(&mut self, f: &tracing::field::Field, v: u64) {
        match f.name() {
            "revision" => self.revision = i64::try_from(v).ok(),
            "micros" => self.micros = Some(v),
            n => self.rest.push(format!("{n}={v}")),
        }
    }
    fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
        if f.name() == "message" {
            self.message = format!("{v:?}");
        } else {
            self.rest.push(format!("{}={v:?}", f.name()));
        }
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        *m.level() <= tracing::Level::INFO
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::INFO)
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        let mut f = Fields::default();
        e.record(&mut f);
        if f.message == "tables compiled and published" {
            if let (Some(r), Some(us)) = (f.revision, f.micros) {
                if let Ok(mut m) = controller_micros().lock() {
                    m.insert(r, us);
                }
            }
        } else if *e.metadata().level() <= tracing::Level::WARN {
            eprintln!(
                "{} {}: {} {}",
                e.metadata().level(),
                e.metadata().target(),
                f.message,
                f.rest.join(" ")
            );
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

// ---------------------------------------------------------------------------------------
// The data plane side: building the tables, publishing them, the worker.

/// The live snapshot: the etcd revision it reflects, and the tables.
type Live = (i64, Pipeline);

/// Builds the data-plane tables from a compilation as srgate does (`merge_overlay`,
/// `merge_tokens`, `merge_control`, then `build_pipeline`'s SRoU and overlay part): returns
/// the pipeline and the number of type-5 routes in VRF 100.
fn build_tables(c: Compiled) -> Result<(Pipeline, usize), String> {
    let o = c.overlay.unwrap_or_default();
    let mut srou = SrouConfig {
        locators: vec![LocatorConfig {
            address: LOCAL_A.into(),
            decap: true,
        }],
        default_next_hop: Some(AdjacencyConfig {
            port: "p0".into(),
            dst_mac: "02:00:00:00:00:02".into(),
            src_mac: None,
        }),
        policies: o.policies,
        ..SrouConfig::default()
    };
    // srgate's `merge_tokens`: the compiled token lists added to the file's.
    if let Some(t) = &c.tokens {
        for x in &t.permit {
            if !srou.permit.contains(x) {
                srou.permit.push(x.clone());
            }
        }
        for x in &t.block {
            if !srou.block.contains(x) {
                srou.block.push(x.clone());
            }
        }
    }
    let mut overlay = OverlayConfig {
        vrf: vec![VrfConfig {
            vnid: VNID,
            ports: vec!["p0".into()],
            vlan: None,
        }],
        route5: o.overlay.route5,
        route2: o.overlay.route2,
    };
    // srgate's `merge_control`: route-control rules (none in this benchmark's etcd).
    if let Some(ctl) = &c.control {
        let left_out = ctl.merge_into(&mut srou, &mut overlay);
        if !left_out.is_empty() {
            return Err(format!("route-control rules left out: {left_out:?}"));
        }
    }
    let port_ref = |name: &str| (name == "p0").then_some(PORT);
    let srou = srou.build(&port_ref).map_err(|e| e.to_string())?;
    let overlay = overlay
        .build(|n| port_ref(n).map(|p| p.id), |n| srou.policy_index(n))
        .map_err(|e| e.to_string())?;
    let routes = overlay.vrf(VNID).map_or(0, |v| v.route_counts().2);
    let mut p = Pipeline::new();
    p.set_overlay(overlay);
    p.set_srou(srou);
    Ok((p, routes))
}

/// One call of the publish closure.
#[derive(Debug, Clone, Copy)]
struct PubRecord {
    revision: i64,
    /// When the closure started (the compile has just finished).
    start: Instant,
    /// Building the tables.
    build: Duration,
    /// When the snapshot was swapped in.
    swapped: Instant,
    /// Type-5 routes in VRF 100.
    routes: usize,
}

/// What the worker has seen: the newest revision, and when it first saw each one.
#[derive(Default)]
struct Seen {
    revision: AtomicI64,
    log: Mutex<Vec<(i64, Instant)>>,
}

impl Seen {
    /// When the worker first saw a revision >= `r`.
    fn first_at_least(&self, r: i64) -> Option<Instant> {
        let log = self.log.lock().ok()?;
        log.iter().find(|(x, _)| *x >= r).map(|(_, t)| *t)
    }
}

/// What the worker's probe frames did on its last live table.
#[derive(Debug, Default)]
struct ProbeReport {
    revision: i64,
    routed_expected: usize,
    routed: usize,
    unrouted_expected: usize,
    no_route: usize,
    other: BTreeMap<String, usize>,
}

/// An IPv4/UDP frame to `dst`.
fn frame(dst: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    let mut ip = [
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 0, 0, 0, 0,
    ];
    ip[16..20].copy_from_slice(&dst.octets());
    let c = fwd_core::wire::checksum::checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&[0x04, 0xd2, 0x16, 0x2e, 0, 8, 0, 0]);
    f
}

/// The worker: loads the live snapshot in a loop until `stop`, recording each new
/// revision; then runs the probes (routed, unrouted) it is sent through its live pipeline.
fn worker(
    mut reader: Reader<Live>,
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
    idle: Idle,
    probes: mpsc::Receiver<(Vec<Ipv4Addr>, Vec<Ipv4Addr>)>,
) -> ProbeReport {
    let mut last = i64::MIN;
    while !stop.load(Ordering::Relaxed) {
        // The quiescent point.
        let (revision, _tables) = reader.load();
        if *revision != last {
            let now = Instant::now();
            last = *revision;
            if let Ok(mut log) = seen.log.lock() {
                log.push((last, now));
            }
            seen.revision.store(last, Ordering::Release);
        }
        match idle {
            Idle::Spin => std::hint::spin_loop(),
            Idle::Yield => std::thread::yield_now(),
            Idle::Sleep(d) => std::thread::sleep(d),
        }
    }
    let mut report = ProbeReport::default();
    let Ok((routed, unrouted)) = probes.recv() else {
        return report;
    };
    let (revision, p) = reader.load();
    report.revision = *revision;
    report.routed_expected = routed.len();
    report.unrouted_expected = unrouted.len();
    let counters = WorkerCounters::default();
    let mut flows = p.new_flow_state(1);
    let mut ctx = WorkerCtx {
        flows: &mut flows,
        counters: &counters,
        clock: fwd_core::clock::TscClock::with_anchor(Duration::ZERO, 0, 1),
        rx_tsc: 0,
        tsc: || 0,
    };
    for (i, dst) in routed.iter().chain(&unrouted).enumerate() {
        let want_routed = i < routed.len();
        match p.process(PORT.id, &mut VecBuf::new(&frame(*dst)), &mut ctx) {
            Action::Forward {
                handler: Handler::Srou,
                ..
            } if want_routed => report.routed += 1,
            Action::Drop(DropReason::OverlayNoRoute) if !want_routed => report.no_route += 1,
            a => {
                let what = match a {
                    Action::Forward { handler, .. } => handler.name().to_string(),
                    Action::Drop(r) => r.name().to_string(),
                };
                *report
                    .other
                    .entry(format!(
                        "{}:{what}",
                        if want_routed { "routed" } else { "unrouted" }
                    ))
                    .or_default() += 1;
            }
        }
    }
    report
}

/// One controller, its publisher and its worker.
struct Phase {
    controller: Controller,
    seen: Arc<Seen>,
    pubs: Arc<Mutex<Vec<PubRecord>>>,
    stop: Arc<AtomicBool>,
    probes: mpsc::Sender<(Vec<Ipv4Addr>, Vec<Ipv4Addr>)>,
    worker: std::thread::JoinHandle<ProbeReport>,
}

fn overlay_context() -> OverlayContext {
    OverlayContext {
        node: NODE.into(),
        vnids: BTreeSet::from([VNID]),
        import_rt: Vec::new(),
        sla: BTreeMap::new(),
        flow_id: String::new(),
        ..OverlayContext::default()
    }
}

impl Phase {
    fn start(endpoint: &str, settle: Duration, idle: Idle) -> Result<Phase, String> {
        let cfg = ControllerConfig {
            etcd: EtcdOptions {
                endpoints: vec![endpoint.to_string()],
                ..EtcdOptions::default()
            },
            node: NodeIdentity {
                role: Role::Fabric,
                name: NODE.into(),
                site: 1,
                location: None,
                locators: vec![Locator::parse("a", LOC_A).map_err(|e| e.to_string())?],
            },
            lease_ttl: Duration::from_secs(10),
            static_keys: Vec::new(),
            links: Vec::new(),
            // Once at start; no /stats/node traffic during the measurements.
            stats_interval: Duration::from_secs(3600),
            sync: SyncOptions {
                settle,
                ..SyncOptions::default()
            },
            overlay: Some(overlay_context()),
            service: None,
            // As srgate with a [tables.srou] section: its token mode (default block-only).
            token_mode: Some(AclMode::default()),
            dyncast_adjacency: None,
            reverse_paths: false,
            probes: None,
        };
        let mut publisher: Publisher<Live> = Publisher::new((0, Pipeline::new()));
        let reader = publisher.reader();
        let pubs: Arc<Mutex<Vec<PubRecord>>> = Arc::default();
        let seen: Arc<Seen> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (probes, probes_rx) = mpsc::channel();
        let worker = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("bench-worker".into())
                .spawn(move || worker(reader, seen, stop, idle, probes_rx))
                .map_err(|e| format!("worker thread: {e}"))?
        };
        let records = Arc::clone(&pubs);
        let publish = move |c: Compiled| -> Result<(), String> {
            let start = Instant::now();
            let revision = c.revision;
            let (pipeline, routes) = build_tables(c)?;
            let build = start.elapsed();
            publisher.publish((revision, pipeline));
            let swapped = Instant::now();
            publisher.reclaim();
            if let Ok(mut r) = records.lock() {
                r.push(PubRecord {
                    revision,
                    start,
                    build,
                    swapped,
                    routes,
                });
            }
            Ok(())
        };
        let controller =
            Controller::spawn(cfg, || {}, publish).map_err(|e| format!("control thread: {e}"))?;
        Ok(Phase {
            controller,
            seen,
            pubs,
            stop,
            probes,
            worker,
        })
    }

    fn last_pub(&self) -> Option<PubRecord> {
        self.pubs.lock().ok()?.last().copied()
    }

    /// The first publication of a revision >= `r`.
    fn pub_at_least(&self, r: i64) -> Option<PubRecord> {
        let p = self.pubs.lock().ok()?;
        p.iter().find(|x| x.revision >= r).copied()
    }

    /// Waits until the worker sees a revision >= `r`; returns when it first did.
    async fn live(&self, r: i64, limit: Duration) -> Result<Instant, String> {
        let t0 = Instant::now();
        loop {
            if self.seen.revision.load(Ordering::Acquire) >= r {
                return self
                    .seen
                    .first_at_least(r)
                    .ok_or_else(|| "worker log lost a revision".to_string());
            }
            if t0.elapsed() > limit {
                return Err(format!(
                    "revision {r} not live after {limit:?} (worker at {}, last publication {:?})",
                    self.seen.revision.load(Ordering::Acquire),
                    self.last_pub().map(|p| (p.revision, p.routes))
                ));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Waits until a table with at least `routes` routes is live (the controller has
    /// registered, snapshotted and compiled).
    async fn ready(&self, routes: usize, limit: Duration) -> Result<(), String> {
        let t0 = Instant::now();
        loop {
            if let Some(p) = self.last_pub() {
                if p.routes >= routes && self.seen.revision.load(Ordering::Acquire) >= p.revision {
                    return Ok(());
                }
            }
            if t0.elapsed() > limit {
                return Err(format!(
                    "no table with {routes} routes live after {limit:?} (last publication {:?})",
                    self.last_pub().map(|p| (p.revision, p.routes))
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops the worker (after it ran `probes`) and the controller.
    fn finish(self, probes: (Vec<Ipv4Addr>, Vec<Ipv4Addr>)) -> Result<ProbeReport, String> {
        let _ = self.probes.send(probes);
        self.stop.store(true, Ordering::Relaxed);
        let report = self
            .worker
            .join()
            .map_err(|_| "worker thread panicked".to_string())?;
        self.controller.stop();
        Ok(report)
    }
}

// ---------------------------------------------------------------------------------------
// Figures.

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    pct(&v, 0.5)
}

/// Ordered figures: printed as `key=value` and as JSON.
#[derive(Default)]
struct Figures(Vec<(String, serde_json::Value)>);

impl Figures {
    fn put(&mut self, k: &str, v: impl Into<serde_json::Value>) {
        self.0.push((k.to_string(), v.into()));
    }

    fn kv_line(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={}", s.replace(' ', "_")),
                v => format!("{k}={v}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// One JSON object, keys in the order they were put.
    fn json_line(&self) -> String {
        let fields: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(k.as_str())))
            .collect();
        format!("{{{}}}", fields.join(","))
    }
}

fn us(d: Duration) -> u64 {
    d.as_micros() as u64
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn route_key(prefix: Ipv4Addr, len: u8) -> String {
    format!("/route/5/rt1/c:100/{prefix}/{len}")
}

/// The `i`-th bulk prefix: distinct /24s from 10.0.0.0/24 upwards.
fn bulk_prefix(i: usize) -> Ipv4Addr {
    let i = i as u32;
    Ipv4Addr::new(10 + (i >> 16) as u8, (i >> 8) as u8, i as u8, 0)
}

/// SplitMix64, for the probes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn rev_of(h: Option<&etcd_client::ResponseHeader>) -> Result<i64, String> {
    h.map(|h| h.revision())
        .ok_or_else(|| "etcd answered without a header".to_string())
}

// ---------------------------------------------------------------------------------------
// The phases.

async fn prepopulate(client: &mut Client) -> Result<(), String> {
    let put = |k: String, v: &str| TxnOp::put(k, v, None);
    let ops = vec![
        put("/node/fabric/b".into(), "1,0,,"),
        put("/node/fabric/c".into(), "1,0,,"),
        put("/service/fabric/b".into(), LOC_B),
        put("/service/fabric/c".into(), LOC_C),
        put(format!("/stats/linkstate/{LOC_A}->{LOC_B}"), "10,1000,0,0"),
        put(format!("/stats/linkstate/{LOC_B}->{LOC_C}"), "10,1000,0,0"),
    ];
    client
        .txn(Txn::new().and_then(ops))
        .await
        .map_err(|e| format!("pre-populating etcd: {e}"))?;
    Ok(())
}

async fn clear_routes(client: &mut Client) -> Result<(), String> {
    client
        .delete("/route/", Some(DeleteOptions::new().with_prefix()))
        .await
        .map_err(|e| format!("deleting routes: {e}"))?;
    Ok(())
}

/// Single changes: one new /32 at a time. `tag` tells the phases' prefixes apart.
async fn single(
    client: &mut Client,
    a: &Args,
    settle: Duration,
    tag: u8,
    prefix: &str,
    fig: &mut Figures,
) -> Result<(), String> {
    clear_routes(client).await?;
    client
        .put(WARMUP_KEY, ROUTE_VALUE, None)
        .await
        .map_err(|e| format!("put: {e}"))?;
    let phase = Phase::start(&a.etcd_endpoint, settle, a.worker)?;
    phase.ready(1, Duration::from_secs(30)).await?;
    let pubs_before = phase
        .controller
        .status()
        .publications
        .load(Ordering::Relaxed);
    let (mut e2e, mut ack, mut to_pub, mut build, mut compile, mut to_seen) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for k in 0..a.single {
        tokio::time::sleep(a.gap).await;
        let dst = Ipv4Addr::new(172, 16 + tag, (k >> 8) as u8, k as u8);
        let key = route_key(dst, 32);
        let t0 = Instant::now();
        let r = client
            .put(key, ROUTE_VALUE, None)
            .await
            .map_err(|e| format!("put: {e}"))?;
        ack.push(us(t0.elapsed()));
        let rev = rev_of(r.header())?;
        let at = phase.live(rev, Duration::from_secs(10)).await?;
        e2e.push(us(at.saturating_duration_since(t0)));
        if let Some(p) = phase.pub_at_least(rev) {
            to_pub.push(us(p.start.saturating_duration_since(t0)));
            build.push(us(p.build));
            to_seen.push(at.saturating_duration_since(p.swapped).as_nanos() as u64);
            let total = controller_micros()
                .lock()
                .ok()
                .and_then(|m| m.get(&p.revision).copied());
            if let Some(total) = total {
                let closure = us(p.swapped.saturating_duration_since(p.start));
                compile.push(total.saturating_sub(closure));
            }
        }
    }
    let pubs = phase
        .controller
        .status()
        .publications
        .load(Ordering::Relaxed)
        - pubs_before;
    let routes = phase.last_pub().map_or(0, |p| p.routes);
    phase.finish((vec![], vec![]))?;
    if routes != a.single + 1 {
        return Err(format!(
            "{prefix}: the live table holds {routes} routes, not {}",
            a.single + 1
        ));
    }
    e2e.sort_unstable();
    eprintln!(
        "{prefix}: settle {settle:?}: p50 {} us, p99 {} us, max {} us over {} changes ({pubs} publications)",
        pct(&e2e, 0.5),
        pct(&e2e, 0.99),
        e2e.last().copied().unwrap_or(0),
        e2e.len()
    );
    fig.put(&format!("{prefix}_settle_us"), us(settle));
    fig.put(&format!("{prefix}_n"), e2e.len());
    fig.put(&format!("{prefix}_p50_us"), pct(&e2e, 0.5));
    fig.put(&format!("{prefix}_p99_us"), pct(&e2e, 0.99));
    fig.put(
        &format!("{prefix}_max_us"),
        e2e.last().copied().unwrap_or(0),
    );
    fig.put(&format!("{prefix}_put_ack_p50_us"), median(ack));
    fig.put(&format!("{prefix}_to_publish_p50_us"), median(to_pub));
    fig.put(&format!("{prefix}_compile_p50_us"), median(compile));
    fig.put(&format!("{prefix}_build_p50_us"), median(build));
    to_seen.sort_unstable();
    fig.put(
        &format!("{prefix}_swap_to_worker_p50_ns"),
        pct(&to_seen, 0.5),
    );
    fig.put(
        &format!("{prefix}_swap_to_worker_p99_ns"),
        pct(&to_seen, 0.99),
    );
    fig.put(&format!("{prefix}_publications"), pubs);
    Ok(())
}

async fn bulk(client: &mut Client, a: &Args, fig: &mut Figures) -> Result<(), String> {
    clear_routes(client).await?;
    client
        .put(WARMUP_KEY, ROUTE_VALUE, None)
        .await
        .map_err(|e| format!("put: {e}"))?;
    let settle = SyncOptions::default().settle;
    let phase = Phase::start(&a.etcd_endpoint, settle, a.worker)?;
    phase.ready(1, Duration::from_secs(30)).await?;
    let status = phase.controller.status();
    let pubs_before = status.publications.load(Ordering::Relaxed);
    let first_bulk_pub = phase.pubs.lock().map(|p| p.len()).unwrap_or(0);

    let chunks: Vec<Vec<TxnOp>> = (0..a.bulk)
        .collect::<Vec<_>>()
        .chunks(a.txn_ops)
        .map(|c| {
            c.iter()
                .map(|&i| TxnOp::put(route_key(bulk_prefix(i), 24), ROUTE_VALUE, None))
                .collect()
        })
        .collect();
    let chunks = Arc::new(Mutex::new(chunks.into_iter()));
    let next = Arc::new(AtomicUsize::new(0));
    eprintln!(
        "bulk: writing {} routes in transactions of {} from {} clients",
        a.bulk, a.txn_ops, a.clients
    );
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..a.clients {
        let (mut c, chunks, next) = (client.clone(), Arc::clone(&chunks), Arc::clone(&next));
        tasks.spawn(async move {
            let mut max_rev = 0i64;
            loop {
                let ops = match chunks.lock() {
                    Ok(mut it) => it.next(),
                    Err(_) => None,
                };
                let Some(ops) = ops else { break };
                let r = c
                    .txn(Txn::new().and_then(ops))
                    .await
                    .map_err(|e| format!("bulk txn: {e}"))?;
                max_rev = max_rev.max(rev_of(r.header())?);
                next.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<i64, String>(max_rev)
        });
    }
    let mut last_rev = 0i64;
    while let Some(r) = tasks.join_next().await {
        last_rev = last_rev.max(r.map_err(|e| format!("bulk task: {e}"))??);
    }
    let written = t0.elapsed();
    let at = phase.live(last_rev, Duration::from_secs(600)).await?;
    let live = at.saturating_duration_since(t0);
    let pubs = status.publications.load(Ordering::Relaxed) - pubs_before;
    let records: Vec<PubRecord> = phase
        .pubs
        .lock()
        .map(|p| p[first_bulk_pub..].to_vec())
        .unwrap_or_default();
    let last = phase
        .pub_at_least(last_rev)
        .ok_or("no publication of the last revision")?;
    let total = controller_micros()
        .lock()
        .ok()
        .and_then(|m| m.get(&last.revision).copied())
        .unwrap_or(0);
    let closure = us(last.swapped.saturating_duration_since(last.start));
    eprintln!(
        "bulk: {} txns written in {written:?}; live after {live:?}; {pubs} publications; \
         last: compile {} us, build {} us",
        next.load(Ordering::Relaxed),
        total.saturating_sub(closure),
        us(last.build)
    );
    let sizes: Vec<String> = records
        .iter()
        .map(|r| {
            format!(
                "{}@{}ms/{}ms",
                r.routes,
                ms(r.start.saturating_duration_since(t0)),
                ms(r.build)
            )
        })
        .collect();
    eprintln!(
        "bulk: publications (routes@start/build): {}",
        sizes.join(" ")
    );

    // The same compile and build off-line, on a snapshot of the final view.
    let mut syncer = Syncer::new(SyncOptions::default());
    syncer
        .snapshot(client)
        .await
        .map_err(|e| format!("snapshot: {e}"))?;
    let ctx = CompileContext {
        overlay: Some(overlay_context()),
        token_mode: Some(AclMode::default()),
        ..CompileContext::default()
    };
    // Best of 5: the machine is shared, and nothing else runs here now.
    let (mut compile_off, mut overlay_off, mut build_off) = (vec![], vec![], vec![]);
    let mut offline_routes = 0;
    let octx = overlay_context();
    for _ in 0..5 {
        let t = Instant::now();
        let o = compile_overlay(syncer.view(), &octx);
        overlay_off.push(us(t.elapsed()));
        drop(o);
        let t = Instant::now();
        let c = compile_view(syncer.view(), NODE, &ctx);
        compile_off.push(us(t.elapsed()));
        let t = Instant::now();
        let (p, routes) = build_tables(c)?;
        build_off.push(us(t.elapsed()));
        offline_routes = routes;
        drop(p);
    }
    let best = |v: Vec<u64>| ms(Duration::from_micros(v.into_iter().min().unwrap_or(0)));

    // Probes through the worker's live pipeline.
    let mut rng = Rng(0x5eed);
    let routed: Vec<Ipv4Addr> = (0..a.probes.min(a.bulk))
        .map(|_| {
            let p = u32::from(bulk_prefix((rng.next() % a.bulk as u64) as usize));
            Ipv4Addr::from(p | (rng.next() % 256) as u32)
        })
        .collect();
    // 100.64.0.0/10: never routed here.
    let unrouted: Vec<Ipv4Addr> = (0..a.probes)
        .map(|_| Ipv4Addr::from(0x6440_0000 | (rng.next() as u32 & 0x003f_ffff)))
        .collect();
    let routes_live = phase.last_pub().map_or(0, |p| p.routes);
    let report = phase.finish((routed, unrouted))?;
    eprintln!("bulk: probes {report:?}; live routes {routes_live}");

    fig.put("bulk_routes", a.bulk);
    fig.put("bulk_txn_ops", a.txn_ops);
    fig.put("bulk_clients", a.clients);
    fig.put("bulk_settle_us", us(settle));
    fig.put("bulk_write_ms", ms(written));
    fig.put("bulk_live_ms", ms(live));
    fig.put("bulk_after_last_ack_ms", ms(live.saturating_sub(written)));
    fig.put("bulk_publications", pubs);
    fig.put(
        "bulk_last_compile_ms",
        ms(Duration::from_micros(total.saturating_sub(closure))),
    );
    fig.put("bulk_last_build_ms", ms(last.build));
    fig.put("bulk_last_controller_ms", ms(Duration::from_micros(total)));
    fig.put("bulk_offline_compile_ms", best(compile_off));
    fig.put("bulk_offline_compile_overlay_ms", best(overlay_off));
    fig.put("bulk_offline_build_ms", best(build_off));
    fig.put("bulk_routes_live", routes_live);
    fig.put(
        "bulk_probes_routed",
        format!("{}/{}", report.routed, report.routed_expected),
    );
    fig.put(
        "bulk_probes_no_route",
        format!("{}/{}", report.no_route, report.unrouted_expected),
    );

    let want = a.bulk + 1;
    if routes_live != want || offline_routes != want {
        return Err(format!(
            "the live table holds {routes_live} routes (off-line build {offline_routes}), not {want}"
        ));
    }
    if report.revision < last_rev
        || report.routed != report.routed_expected
        || report.no_route != report.unrouted_expected
    {
        return Err(format!(
            "probes through the live pipeline failed: {report:?}"
        ));
    }
    Ok(())
}

async fn run(a: &Args, fig: &mut Figures) -> Result<(), String> {
    let mut client = connect(&EtcdOptions {
        endpoints: vec![a.etcd_endpoint.clone()],
        ..EtcdOptions::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    prepopulate(&mut client).await?;
    let settle = SyncOptions::default().settle;
    single(&mut client, a, settle, 0, "single", fig).await?;
    single(&mut client, a, Duration::ZERO, 1, "single_settle0", fig).await?;
    if a.bulk > 0 {
        bulk(&mut client, a, fig).await?;
    }
    Ok(())
}

fn main() {
    let mut a = args();
    std::panic::set_hook(Box::new(|info| {
        eprintln!("etcd_to_live: {info}");
        let pid = ETCD_PID.load(Ordering::SeqCst);
        if pid != 0 {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
        std::process::exit(101);
    }));
    if tracing::subscriber::set_global_default(Capture).is_err() {
        eprintln!("etcd_to_live: a tracing subscriber is already set");
    }
    let etcd = match Etcd::start(&a.etcd) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("etcd_to_live: {e}");
            std::process::exit(1);
        }
    };
    a.etcd_endpoint = etcd.endpoint.clone();
    let mut fig = Figures::default();
    fig.put("etcd", etcd_version(&a.etcd));
    fig.put("worker", a.worker.name());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let t0 = Instant::now();
    let result = rt.block_on(run(&a, &mut fig));
    fig.put(
        "total_s",
        (t0.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    );
    drop(rt);
    drop(etcd);
    match result {
        Ok(()) => {
            println!("{}", fig.kv_line());
            println!("{}", fig.json_line());
        }
        Err(e) => {
            eprintln!("etcd_to_live: {e}");
            eprintln!("etcd_to_live: figures so far: {}", fig.json_line());
            std::process::exit(1);
        }
    }
}
