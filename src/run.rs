//! `srgate run`: EAL, mempool, ports, workers on lcores, live rate line, final counters.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use dpdk_sys::eal::Eal;
use dpdk_sys::lcore;
use dpdk_sys::mempool::PktMempool;
use dpdk_sys::port::{self, Port, PortStats};
use fwd_core::counters::{CounterSnapshot, WorkerCounters};
use fwd_core::rcu::Publisher;
use fwd_core::stamp::{ProbeResults, SessionSnapshot};
use fwd_core::worker::{self, IdlePolicy, LcoreWork, RxWork};
use serde::Serialize;

use crate::config::{parse_device, Config};

/// Options of one run beyond the config file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop once no packet has been received for this long.
    pub exit_idle: Option<Duration>,
    /// Write the final counters as JSON here.
    pub stats_json: Option<PathBuf>,
    /// EAL arguments appended after the config's.
    pub eal_extra: Vec<String>,
}

/// Final counters of one worker.
#[derive(Debug, Serialize)]
pub struct WorkerReport {
    /// Lcore that ran it.
    pub lcore: u32,
    /// Port name.
    pub port: String,
    /// RX queue.
    pub queue: u16,
    /// Its counters.
    pub counters: CounterSnapshot,
}

/// Final counters of one port (from the driver).
#[derive(Debug, Serialize)]
pub struct PortReport {
    /// Config name.
    pub name: String,
    /// DPDK port id.
    pub id: u16,
    /// Packets received.
    pub ipackets: u64,
    /// Packets sent.
    pub opackets: u64,
    /// Missed (RX ring full).
    pub imissed: u64,
    /// RX errors.
    pub ierrors: u64,
    /// TX errors.
    pub oerrors: u64,
    /// RX without mbuf.
    pub rx_nombuf: u64,
}

/// What a run reports at the end.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// DPDK version EAL ran on.
    pub dpdk_version: String,
    /// Seconds the workers ran.
    pub seconds: f64,
    /// Totals over all workers.
    pub total: CounterSnapshot,
    /// Per worker.
    pub workers: Vec<WorkerReport>,
    /// Per port.
    pub ports: Vec<PortReport>,
    /// The control thread, when `[control]` is configured.
    pub control: Option<crate::control::ControlReport>,
    /// STAMP session-senders (`[[tables.stamp.sender]]`): each session's figures.
    pub stamp_sessions: Vec<SessionSnapshot>,
}

struct Task {
    port_index: usize,
    queue: u16,
}

/// Runs the data plane described by `cfg` until SIGINT/SIGTERM, the duration, or idleness.
pub fn run(cfg: &Config, config_file: &Path, opts: &RunOptions) -> Result<RunReport> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while stopping exits at once.
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&stop))
            .context("installing signal handler")?;
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("installing signal handler")?;
    }

    let args = cfg.eal_args(&opts.eal_extra);
    tracing::info!(?args, "initialising EAL");
    let eal = Eal::init(&args).context("EAL init (check the [eal] args and port devices)")?;
    let lcores: Vec<u32> = std::iter::once(lcore::main_lcore())
        .chain(lcore::worker_lcores())
        .collect();

    let pool = Arc::new(
        PktMempool::create(
            "srgate_rx",
            cfg.mempool.mbufs,
            cfg.mempool.cache,
            cfg.mempool.data_room,
            eal.socket_id(),
        )
        .context("creating the mbuf pool (with --no-huge, keep mempool.mbufs within -m)")?,
    );

    // STAMP session-senders: ONE results block for the whole run, handed to every snapshot
    // built below and by the control thread (results survive table replacements), and a
    // pool of their own for the probes, used by the first lcore only.
    let probes = Arc::new(ProbeResults::new());
    let probe_pool = if cfg.has_stamp_senders() {
        // Room for every TX ring full of probes: drivers free sent mbufs lazily.
        let n = cfg.ports.iter().map(|p| u32::from(p.tx_desc)).sum::<u32>() + 256;
        let pool = PktMempool::create(
            "srgate_probe",
            n.next_power_of_two() - 1,
            0,
            dpdk_sys::mempool::DEFAULT_DATA_ROOM,
            eal.socket_id(),
        )
        .context("creating the STAMP probe pool")?;
        Some(Arc::new(pool))
    } else {
        None
    };

    let tasks: Vec<Task> = cfg
        .ports
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            (0..p.rx_queues).map(move |q| Task {
                port_index: i,
                queue: q,
            })
        })
        .collect();
    let used = lcores.len().min(tasks.len());
    if used == 0 {
        bail!("no RX queue to poll");
    }

    let mut ports = Vec::with_capacity(cfg.ports.len());
    for p in &cfg.ports {
        let dev = parse_device(&p.device).context("validated device")?;
        let id = port::id_by_name(dev.name()).with_context(|| {
            format!("port {:?}: device {:?} did not appear", p.name, dev.name())
        })?;
        let pc = dpdk_sys::port::PortConfig {
            rx_queues: p.rx_queues,
            tx_queues: used as u16,
            rx_desc: p.rx_desc,
            tx_desc: p.tx_desc,
            promiscuous: p.promiscuous,
        };
        let mut port = Port::configure(id, &pc, Arc::clone(&pool))
            .with_context(|| format!("configuring port {:?}", p.name))?;
        port.start()
            .with_context(|| format!("starting port {:?}", p.name))?;
        tracing::info!(
            port = %p.name, id, device = port.name(), rss = port.rss_hf() != 0,
            mac = %fmt_mac(&port.mac()), "port up"
        );
        ports.push(port);
    }

    let ids: Vec<u16> = ports.iter().map(Port::id).collect();
    let macs: Vec<[u8; 6]> = ports.iter().map(Port::mac).collect();
    let pipeline = cfg.build_pipeline_with_probes(&ids, &macs, config_file, Some(&probes))?;
    let mut tables = Publisher::new(pipeline);
    let counters: Vec<WorkerCounters> = tasks.iter().map(|_| WorkerCounters::default()).collect();
    let idle = IdlePolicy {
        empty_polls: cfg.dataplane.idle_empty_polls,
        sleep_us: cfg.dataplane.idle_sleep_us,
    };

    // Build every lcore's work before launching anything.
    let mut works: Vec<LcoreWork<'_, '_>> = Vec::with_capacity(used);
    let mut task_lcore = vec![0u32; tasks.len()];
    for (slot, &lcore_id) in lcores.iter().enumerate().take(used) {
        let mut rx = Vec::new();
        for (i, t) in tasks.iter().enumerate().filter(|(i, _)| i % used == slot) {
            rx.push(RxWork {
                rx: ports[t.port_index].rx_queue(t.queue)?,
                counters: &counters[i],
            });
            task_lcore[i] = lcore_id;
        }
        let mut tx: Vec<Option<_>> = (0..fwd_core::pipeline::MAX_PORTS).map(|_| None).collect();
        for p in &ports {
            tx[p.id() as usize] = Some(p.tx_queue(slot as u16)?);
        }
        works.push(LcoreWork {
            rx,
            tx,
            pipeline: tables.reader(),
            idle,
            probe_pool: if slot == 0 { probe_pool.clone() } else { None },
            prefetch: cfg.dataplane.prefetch.policy(),
        });
    }

    tracing::info!(
        workers = tasks.len(),
        lcores = used,
        "data plane running (SIGINT or SIGTERM stops it)"
    );
    let publish_probes = Arc::clone(&probes);
    // The control thread owns the publisher from here on: the workers hold readers.
    let controller = match &cfg.control {
        Some(section) => {
            let mut ccfg = section.controller_config(cfg, config_file)?;
            ccfg.probes = Some(Arc::clone(&probes));
            let (base, file) = (cfg.clone(), config_file.to_path_buf());
            let (ids, macs) = (ids.clone(), macs.clone());
            let worker_cores = cfg.dataplane.cores.clone();
            let publish = move |c: ctrl_plane::controller::Compiled| -> Result<(), String> {
                let mut next = base.clone();
                if let Some(m) = c.mpls {
                    next.tables.mpls =
                        Some(crate::control::merge_mpls(base.tables.mpls.as_ref(), m));
                }
                if let Some(o) = c.overlay {
                    crate::control::merge_overlay(&mut next.tables, o);
                }
                if let Some(svc) = c.service {
                    next.tables.service = Some(svc);
                }
                if let Some(t) = c.tokens {
                    crate::control::merge_tokens(&mut next.tables, t);
                }
                if let Some(ctl) = &c.control {
                    crate::control::merge_control(&mut next.tables, ctl);
                }
                if let Some(m) = c.dyncast {
                    crate::control::merge_dyncast(&mut next.tables, m);
                }
                if let Some(r) = c.reverse_paths {
                    crate::control::merge_reverse_paths(&mut next.tables, r);
                }
                let pipeline = next
                    .build_pipeline_with_probes(&ids, &macs, &file, Some(&publish_probes))
                    .map_err(|e| e.to_string())?;
                let generation = tables.publish(pipeline);
                tables.reclaim();
                tracing::info!(
                    generation,
                    revision = c.revision,
                    "control plane published new tables"
                );
                Ok(())
            };
            Some(
                ctrl_plane::controller::Controller::spawn(
                    ccfg,
                    move || pin_off(&worker_cores),
                    publish,
                )
                .context("starting the control thread")?,
            )
        }
        None => None,
    };
    let started = Instant::now();
    let interval = Duration::from_millis(cfg.dataplane.stats_interval_ms);
    let (_, codes) = lcore::scope(|s| -> Result<()> {
        let mut works = works.into_iter();
        let main_work = works.next().context("at least one lcore")?;
        for (slot, w) in works.enumerate() {
            let lc = lcores[slot + 1];
            let stop = &stop;
            s.launch(lc, move || worker::run(w, stop))?;
        }
        std::thread::scope(|ts| {
            let (worker_cores, counters, stop) = (&cfg.dataplane.cores, &counters, &stop);
            ts.spawn(move || {
                pin_off(worker_cores);
                monitor(counters, stop, started, interval, opts)
            });
            worker::run(main_work, stop);
        });
        Ok(())
    });
    let seconds = started.elapsed().as_secs_f64();
    let control = controller.map(|c| {
        let status = c.status();
        c.stop();
        crate::control::ControlReport::from_status(&status)
    });
    for (lc, rc) in codes {
        if rc != 0 {
            tracing::warn!(lcore = lc, rc, "worker lcore returned an error");
        }
    }

    let mut port_reports = Vec::new();
    for (p, pc) in ports.iter().zip(&cfg.ports) {
        let s = p.stats().unwrap_or(PortStats::default());
        port_reports.push(PortReport {
            name: pc.name.clone(),
            id: p.id(),
            ipackets: s.ipackets,
            opackets: s.opackets,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        });
    }
    let mut total = CounterSnapshot::default();
    let mut workers = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        let snap = counters[i].snapshot();
        total.accumulate(&snap);
        workers.push(WorkerReport {
            lcore: task_lcore[i],
            port: cfg.ports[t.port_index].name.clone(),
            queue: t.queue,
            counters: snap,
        });
    }
    // Stop and close the ports (pcap output is flushed on close), then the pools, then EAL.
    drop(ports);
    drop(probe_pool);
    drop(pool);
    let report = RunReport {
        dpdk_version: dpdk_sys::eal::version(),
        seconds,
        total,
        workers,
        ports: port_reports,
        control,
        stamp_sessions: probes.snapshot(),
    };
    if let Some(path) = &opts.stats_json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    drop(eal);
    Ok(report)
}

fn sum(counters: &[WorkerCounters]) -> (u64, u64, u64) {
    let mut rx = 0;
    let mut tx = 0;
    let mut dr = 0;
    for c in counters {
        rx += c.rx_packets.get();
        tx += c.tx_packets.get();
        dr += c.drops.iter().map(|d| d.get()).sum::<u64>();
    }
    (rx, tx, dr)
}

/// Moves the calling (non-EAL) thread to a core no worker polls on, if there is one, so the
/// monitor never steals cycles from a worker.
fn pin_off(worker_cores: &[u32]) {
    let free = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .find(|c| !worker_cores.contains(&(c.id as u32)));
    if let Some(core) = free {
        core_affinity::set_for_current(core);
    }
}

/// Prints the live rate line and enforces duration / idle exit.
fn monitor(
    counters: &[WorkerCounters],
    stop: &AtomicBool,
    started: Instant,
    interval: Duration,
    opts: &RunOptions,
) {
    let tick = Duration::from_millis(20);
    let mut last_print = Instant::now();
    let mut last = (0u64, 0u64, 0u64);
    let mut last_rx_change = Instant::now();
    let mut last_rx = 0;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(tick);
        let now = Instant::now();
        let cur = sum(counters);
        if cur.0 != last_rx {
            last_rx = cur.0;
            last_rx_change = now;
        }
        if let Some(d) = opts.duration {
            if now - started >= d {
                stop.store(true, Ordering::Relaxed);
            }
        }
        if let Some(idle) = opts.exit_idle {
            if now - last_rx_change >= idle {
                tracing::info!("no packet for {:?}: stopping", idle);
                stop.store(true, Ordering::Relaxed);
            }
        }
        if !interval.is_zero() && now - last_print >= interval {
            let dt = (now - last_print).as_secs_f64();
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "[{:7.1}s] rx {:8.3} Mpps  tx {:8.3} Mpps  drop {:8.3} Mpps | total rx {} tx {} drop {}",
                (now - started).as_secs_f64(),
                (cur.0 - last.0) as f64 / dt / 1e6,
                (cur.1 - last.1) as f64 / dt / 1e6,
                (cur.2 - last.2) as f64 / dt / 1e6,
                cur.0,
                cur.1,
                cur.2
            );
            last = cur;
            last_print = now;
        }
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn fmt_mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Prints the final counters for an operator.
pub fn print_report(out: &mut impl Write, r: &RunReport) -> std::io::Result<()> {
    let t = &r.total;
    writeln!(
        out,
        "== srgate final counters ({:.2} s, {}) ==",
        r.seconds, r.dpdk_version
    )?;
    writeln!(
        out,
        "rx {} pkts {} bytes | tx {} pkts {} bytes | dropped {}",
        t.rx_packets,
        t.rx_bytes,
        t.tx_packets,
        t.tx_bytes,
        t.total_drops()
    )?;
    if r.seconds > 0.0 {
        writeln!(
            out,
            "average rx {:.3} Mpps, tx {:.3} Mpps; longest loop {} cycles, {} loops over {} us; {} table snapshots taken, longest loop on a new one {} cycles, {} of those over the bound",
            t.rx_packets as f64 / r.seconds / 1e6,
            t.tx_packets as f64 / r.seconds / 1e6,
            t.max_loop_cycles,
            t.long_loops,
            fwd_core::counters::LONG_LOOP_US,
            t.snapshots,
            t.max_swap_loop_cycles,
            t.long_swap_loops
        )?;
    }
    writeln!(
        out,
        "bursts {}: {} with the staged prefetch pass, {} inline",
        t.rx_bursts,
        t.staged_bursts,
        t.rx_bursts - t.staged_bursts.min(t.rx_bursts)
    )?;
    if let Some(c) = &r.control {
        writeln!(
            out,
            "control plane: label {} | registrations {} | publications {} (refused {}) | revision {} | rejected values {} | snapshots {}",
            c.label, c.registrations, c.publications, c.refused, c.revision, c.rejected, c.snapshots
        )?;
    }
    writeln!(out, "forwarded by handler:")?;
    for (k, v) in &t.handled {
        writeln!(out, "  {k:<24} {v}")?;
    }
    let sr = &t.srou;
    writeln!(
        out,
        "srou: encapsulated {} transited {} decapsulated {} nat-alg {} tokens-permitted {}",
        sr.encapsulated, sr.transited, sr.decapsulated, sr.nat_alg, sr.tokens_permitted
    )?;
    let (sv, sf) = (&t.service, &t.service.flows);
    writeln!(
        out,
        "service: steered {} delivered {} decapsulated {} local-shortcut {} | flows hits {} misses {} repicks {} evictions {} expired {}",
        sv.steered, sv.delivered, sv.decapsulated, sv.local_shortcut,
        sf.hits, sf.misses, sf.repicks, sf.evictions, sf.expired
    )?;
    let (dc, df) = (&t.dyncast, &t.dyncast.flows);
    writeln!(
        out,
        "dyncast: encapsulated {} decapsulated {} | flows hits {} misses {} repicks {} evictions {} expired {}",
        dc.encapsulated, dc.decapsulated, df.hits, df.misses, df.repicks, df.evictions, df.expired
    )?;
    writeln!(out, "drops by reason:")?;
    for reason in fwd_core::drop::DropReason::ALL {
        let v = t.drops.get(reason.name()).copied().unwrap_or(0);
        if v > 0 {
            writeln!(
                out,
                "  {:<24} {:>12}  {}",
                reason.name(),
                v,
                reason.description()
            )?;
        }
    }
    for w in &r.workers {
        writeln!(
            out,
            "worker lcore {} {}/q{}: rx {} tx {} drop {}",
            w.lcore,
            w.port,
            w.queue,
            w.counters.rx_packets,
            w.counters.tx_packets,
            w.counters.total_drops()
        )?;
    }
    for p in &r.ports {
        writeln!(
            out,
            "port {} ({}): ipackets {} opackets {} imissed {} ierrors {} oerrors {} rx_nombuf {}",
            p.name, p.id, p.ipackets, p.opackets, p.imissed, p.ierrors, p.oerrors, p.rx_nombuf
        )?;
    }
    for s in &r.stamp_sessions {
        writeln!(
            out,
            "stamp session {}: sent {} received {} late {} dup {} | rtt min/mean/max {:.1}/{:.1}/{:.1} us | delay {:.1} us jitter {:.1} us | loss {} ppm of {}",
            s.id,
            s.sent,
            s.received,
            s.late,
            s.duplicates,
            s.rtt_min_ns as f64 / 1e3,
            s.rtt_mean_ns as f64 / 1e3,
            s.rtt_max_ns as f64 / 1e3,
            s.delay_us,
            s.jitter_us,
            s.loss_ppm,
            s.window_sent
        )?;
    }
    Ok(())
}
