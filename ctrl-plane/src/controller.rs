//! The control thread: registration, the etcd view, compilation and publication, on a
//! tokio runtime of its own, off the worker cores.
//!
//! Three tasks share the runtime:
//! - registration ([`crate::etcd::registration::maintain`]): the node's lease, label and
//!   static keys (SRGB, SIDs, CATS PE...), registered again whenever the lease is lost;
//! - the syncer ([`crate::etcd::watch::Syncer`]): the live view; after every batch of
//!   changes it compiles the node's tables ([`crate::compile`]) and hands them to the
//!   data plane's `publish` callback (which builds a snapshot and swaps it in RCU-style);
//! - the reporter: this node's dynamic keys under its lease: link state towards each
//!   configured neighbour once the neighbour's locator is known (`/stats/linkstate`), and
//!   CPU and memory (`/stats/node`).
//!
//! While etcd is unreachable nothing is published, so the workers keep forwarding on the
//! last tables; every task reconnects with back-off.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{Client, PutOptions};
use fwd_core::mpls::MplsConfig;
use tokio::sync::watch;

use crate::compile::overlay::{compile_overlay, OverlayCompiled, OverlayContext};
use crate::compile::srou::{compile_control, CompiledControl, ControlParams, TokenFields};
use crate::compile::{self, mpls::MplsCompileOptions, ServiceContext};
use crate::etcd::client::{connect, Backoff, EtcdError, EtcdOptions};
use crate::etcd::registration::{self, NodeIdentity, Registered};
use crate::etcd::schema::{Key, LinkStats, Locator, Value};
use crate::etcd::watch::{SyncOptions, SyncReason, Syncer};
use crate::etcd::View;
use fwd_core::dyncast::config::MappingConfig;
use fwd_core::service::ServiceConfig;
use fwd_core::srou::AclMode;
use fwd_core::stamp::config::ReversePathConfig;
use fwd_core::stamp::sender::ProbeResults;

/// A fabric link this node reports: towards `neighbor` (also the data plane's adjacency
/// name), with the figures published until a measurement replaces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkConfig {
    /// The neighbour's system name.
    pub neighbor: String,
    /// IGP metric.
    pub metric: u32,
    /// Delay, microseconds, published until the probe has measured the link.
    pub delay_us: u32,
    /// The data plane's STAMP session-sender probing this link (its session id): its
    /// delay, jitter and loss replace the configured figures once it has replies.
    pub probe: Option<u32>,
}

/// Everything the control thread needs.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// How to reach etcd.
    pub etcd: EtcdOptions,
    /// Who this node is.
    pub node: NodeIdentity,
    /// Registration lease TTL.
    pub lease_ttl: Duration,
    /// Keys written under the lease at each registration (`/srgb`, `/sid`, ...).
    pub static_keys: Vec<(String, String)>,
    /// Links reported under `/stats/linkstate`.
    pub links: Vec<LinkConfig>,
    /// How often `/stats/node` is refreshed.
    pub stats_interval: Duration,
    /// Watch batching.
    pub sync: SyncOptions,
    /// The data plane's STAMP session-sender results (link probes).
    pub probes: Option<Arc<ProbeResults>>,
    /// Overlay routes to import, when the node has VRFs and SRoU locators.
    pub overlay: Option<OverlayContext>,
    /// CATS service FIBs to compile, when the node has computing SIDs.
    pub service: Option<ServiceContext>,
    /// Token lists to compile (with this mode), when the node has SRoU tables.
    pub token_mode: Option<AclMode>,
    /// The adjacency dynamic-anycast RLOCs from etcd are reached through, when the node
    /// is an ITR.
    pub dyncast_adjacency: Option<String>,
    /// Compile STAMP reverse paths (`/stamp/pathseg`): the node reflects SRv6 test
    /// packets with a P-flag.
    pub reverse_paths: bool,
}

/// The tables compiled from one state of the view.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// The etcd revision they reflect.
    pub revision: i64,
    /// `[tables.mpls]`, when this node has an SRGB in etcd.
    pub mpls: Option<MplsConfig>,
    /// Overlay routes and the SRoU policies they steer into, when the node imports any.
    pub overlay: Option<OverlayCompiled>,
    /// `[tables.service]` from CATS, when this node is a PE in etcd.
    pub service: Option<ServiceConfig>,
    /// SRoU token lists from `/token`, `/identity` and `/policy`, when etcd holds any.
    pub tokens: Option<TokenFields>,
    /// Route-control rules (`/control`) as SRoU policies and overlay routes.
    pub control: Option<CompiledControl>,
    /// Dynamic-anycast mappings from `/dyncast`.
    pub dyncast: Option<Vec<MappingConfig>>,
    /// STAMP reverse paths from `/stamp/pathseg`.
    pub reverse_paths: Option<Vec<ReversePathConfig>>,
    /// What was left out, and why.
    pub warnings: Vec<String>,
}

/// Counters of the control thread, readable from any thread.
#[derive(Debug, Default)]
pub struct ControlStatus {
    /// The system label (-1 before the first registration).
    pub label: AtomicI64,
    /// Registrations so far.
    pub registrations: AtomicU64,
    /// The revision of the last publication.
    pub revision: AtomicI64,
    /// Tables handed to the data plane.
    pub publications: AtomicU64,
    /// Compilations the data plane refused (its previous tables stay).
    pub refused: AtomicU64,
    /// etcd values rejected by the schema.
    pub rejected: AtomicU64,
    /// Full snapshots loaded (the first, and one per compaction resync).
    pub snapshots: AtomicU64,
}

/// What [`compile_view`] compiles besides MPLS.
#[derive(Debug, Clone, Default)]
pub struct CompileContext {
    /// Overlay routes.
    pub overlay: Option<OverlayContext>,
    /// CATS service FIBs.
    pub service: Option<ServiceContext>,
    /// SRoU token lists.
    pub token_mode: Option<AclMode>,
    /// Dynamic anycast.
    pub dyncast_adjacency: Option<String>,
    /// STAMP reverse paths.
    pub reverse_paths: bool,
}

/// Compiles the node's tables from the view.
pub fn compile_view(view: &View, node: &str, ctx: &CompileContext) -> Compiled {
    let mut warnings = Vec::new();
    let topo = compile::mpls_topology(view);
    let mpls = if topo
        .nodes
        .iter()
        .any(|n| n.name == node && n.srgb.is_some())
    {
        match compile::mpls::compile_mpls(&topo, node, &MplsCompileOptions::default()) {
            Ok(out) => {
                warnings.extend(out.warnings.iter().map(|w| w.to_string()));
                Some(out.config)
            }
            Err(e) => {
                warnings.push(e.to_string());
                None
            }
        }
    } else {
        None
    };
    let overlay = ctx.overlay.as_ref().map(|o| {
        let o = compile_overlay(view, o);
        warnings.extend(o.warnings.iter().cloned());
        o
    });
    let service = ctx
        .service
        .as_ref()
        .and_then(|s| compile::compile_service(view, s, &mut warnings));
    let tokens = ctx
        .token_mode
        .and_then(|m| compile::compile_tokens(view, node, m, &mut warnings));
    let control = ctx
        .overlay
        .as_ref()
        .map(|o| compile_route_control(view, o, &mut warnings));
    let dyncast = ctx
        .dyncast_adjacency
        .as_ref()
        .map(|adj| compile::compile_dyncast(view, adj, &mut warnings));
    let reverse_paths = ctx
        .reverse_paths
        .then(|| compile::compile_reverse_paths(view));
    Compiled {
        revision: view.revision(),
        mpls,
        overlay,
        service,
        tokens,
        control,
        dyncast,
        reverse_paths,
        warnings,
    }
}

/// Route-control rules of the view (`/control/<RT>/2|5/...`) compiled for this node: the
/// RTs it maps to VNIDs, its first locator as source, its flow ID.
fn compile_route_control(
    view: &View,
    ctx: &OverlayContext,
    warnings: &mut Vec<String>,
) -> CompiledControl {
    let mut st = crate::policy::PolicyState::new(Duration::ZERO);
    let now = Instant::now();
    let mut source = None;
    for (k, v) in view.iter() {
        match (k, v) {
            (Key::Control { .. }, Value::Text(t)) => {
                if let Err(e) = st.put(&k.path(), t, now) {
                    warnings.push(format!("control: {e}"));
                }
            }
            (Key::Service { name, .. }, Value::Locators(l)) if name == &ctx.node => {
                source = l.first().map(|l| l.local);
            }
            _ => {}
        }
    }
    let flow_id = fwd_core::srou::config::parse_flow_id(&ctx.flow_id).unwrap_or_default();
    let vnid_of_rt = |rt: &str| ctx.route_targets.get(rt).copied();
    let params = ControlParams {
        source_v4: source.filter(|s| s.is_ipv4()),
        source_v6: source.filter(|s| s.is_ipv6()),
        flow_id,
        vnid_of_rt: &vnid_of_rt,
        service_segment: true,
    };
    let out = compile_control(&st.control, &params);
    for (key, why) in &out.not_installed {
        warnings.push(format!("control: {key:?} not installed: {why:?}"));
    }
    out
}

/// The link-state keys this node should hold: one per configured link whose neighbour's
/// locator is known, from this node's first locator to the neighbour's first.
pub fn link_keys(
    view: &View,
    node: &NodeIdentity,
    links: &[LinkConfig],
) -> Vec<(String, LinkConfig)> {
    let Some(mine) = node.locators.first() else {
        return Vec::new();
    };
    let mut theirs: BTreeMap<&str, &Locator> = BTreeMap::new();
    for (k, v) in view.iter() {
        if let (Key::Service { name, .. }, Value::Locators(l)) = (k, v) {
            if let Some(first) = l.first() {
                theirs.insert(name.as_str(), first);
            }
        }
    }
    links
        .iter()
        .filter_map(|l| {
            let dst = theirs.get(l.neighbor.as_str())?;
            let key = Key::LinkState {
                src: mine.clone(),
                dst: (*dst).clone(),
            };
            Some((key.path(), l.clone()))
        })
        .collect()
}

/// The value of a link-state key: the probe's measurement when it has one (delay and
/// jitter rounded to microseconds, loss over its last settled window; a probe that never
/// got a reply reports 100 % loss), else the configured delay. The IGP metric is always
/// the configured one: SPF must not flap with every delay sample.
pub fn link_value(link: &LinkConfig, probes: Option<&ProbeResults>) -> String {
    let measured = link.probe.and_then(|id| probes?.session(id));
    let stats = match measured {
        Some(m) if m.received > 0 => LinkStats {
            jitter_us: m.jitter_us.round().clamp(0.0, u32::MAX as f64) as u32,
            delay_us: m.delay_us.round().clamp(0.0, u32::MAX as f64) as u32,
            loss_ppm: m.loss_ppm.min(1_000_000),
            load_pct: 0,
            metric: link.metric.max(1),
        },
        Some(m) if m.settled_sent > 0 => LinkStats {
            jitter_us: 0,
            delay_us: link.delay_us,
            loss_ppm: 1_000_000,
            load_pct: 0,
            metric: link.metric.max(1),
        },
        _ => LinkStats {
            jitter_us: 0,
            delay_us: link.delay_us,
            loss_ppm: 0,
            load_pct: 0,
            metric: link.metric.max(1),
        },
    };
    stats.to_string()
}

/// What the reporter keeps under the lease besides the static keys.
#[derive(Debug, Clone, Default, PartialEq)]
struct DynamicKeys {
    /// Link-state keys and the link each measures.
    links: Vec<(String, LinkConfig)>,
    /// Other keys with their values (CATS metrics).
    other: Vec<(String, String)>,
}

/// The running control thread.
pub struct Controller {
    thread: Option<std::thread::JoinHandle<()>>,
    stop: watch::Sender<bool>,
    status: Arc<ControlStatus>,
}

impl Controller {
    /// Starts the control thread. `publish` receives every compilation (on the control
    /// thread) and returns an error when the data plane refuses it. `on_start` runs first
    /// on the new thread (srgate pins it off the worker cores there).
    pub fn spawn<P, S>(cfg: ControllerConfig, on_start: S, publish: P) -> std::io::Result<Self>
    where
        P: FnMut(Compiled) -> Result<(), String> + Send + 'static,
        S: FnOnce() + Send + 'static,
    {
        let (stop, stop_rx) = watch::channel(false);
        let status = Arc::new(ControlStatus {
            label: AtomicI64::new(-1),
            ..ControlStatus::default()
        });
        let st = Arc::clone(&status);
        let thread = std::thread::Builder::new()
            .name("srgate-control".into())
            .spawn(move || {
                on_start();
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("srgate-control-rt")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!(error = %e, "control plane runtime did not start");
                        return;
                    }
                };
                rt.block_on(run(cfg, st, stop_rx, publish));
            })?;
        Ok(Controller {
            thread: Some(thread),
            stop,
            status,
        })
    }

    /// The control thread's counters.
    pub fn status(&self) -> Arc<ControlStatus> {
        Arc::clone(&self.status)
    }

    /// Stops the thread: the lease is revoked (the node's keys go at once) when etcd is
    /// reachable within a second.
    pub fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn run<P>(
    cfg: ControllerConfig,
    status: Arc<ControlStatus>,
    mut stop: watch::Receiver<bool>,
    mut publish: P,
) where
    P: FnMut(Compiled) -> Result<(), String> + Send + 'static,
{
    let etcd = cfg.etcd.clone();
    let connector = move || {
        let o = etcd.clone();
        async move { connect(&o).await }
    };
    let (lease_tx, lease_rx) = watch::channel::<Option<Registered>>(None);
    let (links_tx, links_rx) = watch::channel::<DynamicKeys>(DynamicKeys::default());

    let st = Arc::clone(&status);
    let keys = cfg.static_keys.clone();
    let registration = tokio::spawn(registration::maintain(
        connector.clone(),
        cfg.node.clone(),
        cfg.lease_ttl,
        move || keys.clone(),
        move |r| {
            st.label.store(r.label as i64, Ordering::Relaxed);
            st.registrations.fetch_add(1, Ordering::Relaxed);
            let _ = lease_tx.send(Some(r));
        },
    ));

    let reporter = tokio::spawn(report(
        connector.clone(),
        cfg.node.name.clone(),
        lease_rx.clone(),
        links_rx,
        cfg.stats_interval,
        cfg.probes.clone(),
    ));

    let st = Arc::clone(&status);
    let node = cfg.node.clone();
    let links = cfg.links.clone();
    let sync_opts = cfg.sync.clone();
    let compile_ctx = CompileContext {
        overlay: cfg.overlay.clone(),
        service: cfg.service.clone(),
        token_mode: cfg.token_mode,
        dyncast_adjacency: cfg.dyncast_adjacency.clone(),
        reverse_paths: cfg.reverse_paths,
    };
    let c2 = connector.clone();
    let syncer = tokio::spawn(async move {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(3));
        let client = loop {
            match c2().await {
                Ok(c) => break c,
                Err(e) => {
                    tracing::warn!(error = %e, "etcd unreachable; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
        };
        let mut syncer = Syncer::new(sync_opts);
        let mut last: Option<Compiled> = None;
        syncer
            .run(client, c2, move |view, why| {
                st.rejected.store(view.rejected(), Ordering::Relaxed);
                if matches!(why, SyncReason::Snapshot { .. }) {
                    st.snapshots.fetch_add(1, Ordering::Relaxed);
                }
                let dynamic = DynamicKeys {
                    links: link_keys(view, &node, &links),
                    other: compile_ctx
                        .service
                        .as_ref()
                        .map(|sc| compile::cats_published(view, sc))
                        .unwrap_or_default(),
                };
                links_tx.send_if_modified(|d| {
                    let changed = *d != dynamic;
                    *d = dynamic;
                    changed
                });
                let t0 = Instant::now();
                let compiled = compile_view(view, &node.name, &compile_ctx);
                let same = last.as_ref().is_some_and(|l| {
                    l.mpls == compiled.mpls
                        && l.overlay == compiled.overlay
                        && l.service == compiled.service
                        && l.tokens == compiled.tokens
                        && l.control == compiled.control
                        && l.dyncast == compiled.dyncast
                        && l.reverse_paths == compiled.reverse_paths
                        && l.warnings == compiled.warnings
                });
                if same {
                    return true;
                }
                for w in &compiled.warnings {
                    tracing::warn!(warning = %w, "compilation left something out");
                }
                let revision = compiled.revision;
                match publish(compiled.clone()) {
                    Ok(()) => {
                        st.revision.store(revision, Ordering::Relaxed);
                        st.publications.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(
                            revision,
                            micros = t0.elapsed().as_micros() as u64,
                            "tables compiled and published"
                        );
                        last = Some(compiled);
                    }
                    Err(e) => {
                        st.refused.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(revision, error = %e, "data plane refused the compiled tables; previous tables stay");
                    }
                }
                true
            })
            .await;
    });

    let _ = stop.wait_for(|s| *s).await;
    registration.abort();
    reporter.abort();
    syncer.abort();
    // Leave at once rather than after the TTL.
    let reg = *lease_rx.borrow();
    if let Some(reg) = reg {
        let o = cfg.etcd.clone();
        let revoke = async move {
            let mut c = connect(&o).await?;
            c.lease_revoke(reg.lease).await?;
            Ok::<(), EtcdError>(())
        };
        match tokio::time::timeout(Duration::from_secs(1), revoke).await {
            Ok(Ok(())) => tracing::info!("lease revoked: node deregistered"),
            _ => tracing::warn!("could not revoke the lease; the node's keys expire with it"),
        }
    }
}

/// Writes the node's dynamic keys under the current lease: link state (which links the
/// syncer says; their values from the probes, refreshed every `interval`), CATS metrics,
/// and CPU/memory every `interval`.
async fn report<C, Fut>(
    connect: C,
    name: String,
    mut lease: watch::Receiver<Option<Registered>>,
    mut links: watch::Receiver<DynamicKeys>,
    interval: Duration,
    probes: Option<Arc<ProbeResults>>,
) where
    C: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Client, EtcdError>>,
{
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(3));
    let mut cpu = CpuSampler::default();
    'connect: loop {
        let mut client = match connect().await {
            Ok(c) => c,
            Err(_) => {
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        let mut written: BTreeMap<String, String> = BTreeMap::new();
        let mut written_lease = 0i64;
        let mut tick = tokio::time::interval(interval);
        loop {
            let Some(reg) = *lease.borrow() else {
                if lease.changed().await.is_err() {
                    return;
                }
                continue;
            };
            if reg.lease != written_lease {
                written.clear();
                written_lease = reg.lease;
            }
            let po = || Some(PutOptions::new().with_lease(reg.lease));
            let want: BTreeMap<String, String> = {
                let d = links.borrow();
                d.links
                    .iter()
                    .map(|(k, l)| (k.clone(), link_value(l, probes.as_deref())))
                    .chain(d.other.iter().cloned())
                    .collect()
            };
            for (k, v) in &want {
                if written.get(k) != Some(v) {
                    if let Err(e) = client.put(k.as_str(), v.as_str(), po()).await {
                        tracing::warn!(key = %k, error = %e, "writing link state failed");
                        tokio::time::sleep(backoff.next_delay()).await;
                        continue 'connect;
                    }
                }
            }
            for k in written.keys().filter(|k| !want.contains_key(*k)) {
                let _ = client.delete(k.as_str(), None).await;
            }
            written = want;
            backoff.reset();
            tokio::select! {
                _ = tick.tick() => {
                    if let Some((c, m)) = cpu.sample() {
                        let key = Key::NodeStats(name.clone()).path();
                        let _ = client.put(key, format!("{c:.1},{m:.1}"), po()).await;
                    }
                }
                r = links.changed() => if r.is_err() { return },
                r = lease.changed() => if r.is_err() { return },
            }
        }
    }
}

/// CPU load (from `/proc/stat` deltas) and memory use (from `/proc/meminfo`), percent.
#[derive(Debug, Default)]
struct CpuSampler {
    last: Option<(u64, u64)>,
}

impl CpuSampler {
    fn sample(&mut self) -> Option<(f32, f32)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let f: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        let total: u64 = f.iter().sum();
        let idle = f.get(3)? + f.get(4).copied().unwrap_or(0);
        let cpu = match self.last.replace((total, idle)) {
            Some((t0, i0)) if total > t0 => {
                100.0 * (1.0 - (idle.saturating_sub(i0)) as f32 / (total - t0) as f32)
            }
            _ => 0.0,
        };
        let mem = std::fs::read_to_string("/proc/meminfo").ok()?;
        let field = |name: &str| -> Option<f32> {
            mem.lines()
                .find(|l| l.starts_with(name))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        };
        let (total, avail) = (field("MemTotal:")?, field("MemAvailable:")?);
        Some((
            cpu.clamp(0.0, 100.0),
            (100.0 * (1.0 - avail / total)).clamp(0.0, 100.0),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd::schema::Role;

    #[test]
    fn link_keys_wait_for_the_neighbours_locator() {
        let node = NodeIdentity {
            role: Role::Fabric,
            name: "a".into(),
            site: 1,
            location: None,
            locators: vec![
                Locator::parse("t", "a/1/10.0.0.1:8811/10.0.0.1:8811/p0/1000/1000").unwrap(),
            ],
        };
        let links = vec![
            LinkConfig {
                neighbor: "b".into(),
                metric: 10,
                delay_us: 250,
                probe: None,
            },
            LinkConfig {
                neighbor: "c".into(),
                metric: 20,
                delay_us: 900,
                probe: Some(7),
            },
        ];
        let mut v = View::new();
        assert!(link_keys(&v, &node, &links).is_empty());
        v.put(
            b"/service/fabric/b",
            b"b/1/10.0.0.2:8811/10.0.0.2:8811/p0/1000/1000",
        );
        let k = link_keys(&v, &node, &links);
        assert_eq!(k.len(), 1);
        assert_eq!(
            k[0].0,
            "/stats/linkstate/a/1/10.0.0.1:8811/10.0.0.1:8811/p0/1000/1000->b/1/10.0.0.2:8811/10.0.0.2:8811/p0/1000/1000"
        );
        let value = link_value(&k[0].1, None);
        assert_eq!(value, "0,250,0,0,10");
        // What we write is what the schema reads.
        assert!(matches!(
            v.put(k[0].0.as_bytes(), value.as_bytes()),
            crate::etcd::view::Applied::Put(_)
        ));
        // A probed link without a measurement yet: the configured figures.
        let probes = ProbeResults::new();
        assert_eq!(link_value(&links[1], Some(&probes)), "0,900,0,0,20");
    }

    #[test]
    fn cpu_sampler_reads_proc() {
        let mut s = CpuSampler::default();
        let (c, m) = s.sample().expect("/proc is readable");
        assert!((0.0..=100.0).contains(&c) && m > 0.0 && m <= 100.0);
    }

    #[test]
    fn route_control_rules_from_etcd_compile_into_policies_and_routes() {
        let mut v = View::new();
        v.put(b"/node/fabric/a", b"1,0,,");
        v.put(
            b"/service/fabric/a",
            b"a/1/10.99.1.1:8811/198.51.100.1:8811/p0/1000/1000",
        );
        v.put(
            b"/control/rt100/5/*/*/10.7.0.0/16",
            b"10.99.2.1:8811,10.99.3.1:8811",
        );
        v.put(b"/control/rt999/5/*/*/10.8.0.0/16", b"10.99.2.1:8811");
        let ctx = CompileContext {
            overlay: Some(OverlayContext {
                node: "a".into(),
                vnids: [100].into_iter().collect(),
                flow_id: "0x000123".into(),
                route_targets: [("rt100".to_string(), 100)].into_iter().collect(),
                ..OverlayContext::default()
            }),
            ..CompileContext::default()
        };
        let c = compile_view(&v, "a", &ctx);
        let control = c.control.expect("route control compiled");
        assert_eq!(control.installs.len(), 1, "{control:?}");
        assert_eq!(
            control.installs[0].policy.path,
            vec!["10.99.2.1:8811", "10.99.3.1:8811"]
        );
        assert_eq!(control.installs[0].policy.source, "10.99.1.1:8811");
        // rt999 is imported by no VRF here.
        assert_eq!(control.not_installed.len(), 1);
        // Into the file's tables, and through the data plane's builders.
        let mut srou = fwd_core::srou::config::SrouConfig::default();
        srou.locators.push(fwd_core::srou::config::LocatorConfig {
            address: "10.99.1.1:8811".into(),
            decap: true,
        });
        srou.default_next_hop = Some(fwd_core::srou::config::AdjacencyConfig {
            port: "core".into(),
            dst_mac: "02:00:00:00:00:02".into(),
            src_mac: None,
        });
        let mut overlay = fwd_core::overlay::config::OverlayConfig::default();
        overlay.vrf.push(fwd_core::overlay::config::VrfConfig {
            vnid: 100,
            ports: vec![],
            vlan: None,
        });
        assert!(control.merge_into(&mut srou, &mut overlay).is_empty());
        assert_eq!(overlay.route5.len(), 1);
        let port = |_: &str| {
            Some(fwd_core::srou::config::PortRef {
                id: 0,
                mac: [2, 0, 0, 0, 0, 1],
            })
        };
        let tables = srou.build(&port).expect("SRoU tables build");
        overlay
            .build(|_| Some(0), |n| tables.policy_index(n))
            .expect("overlay routes build");
    }
}
