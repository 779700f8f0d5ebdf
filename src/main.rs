//! `srgate`: the segment-routing gateway's command line.
//!
//! - `srgate run --config FILE [-- EAL args]`: run the data plane;
//! - `srgate demo`: run the main job on an embedded default (virtual devices, generated
//!   traffic, no etcd, no NIC, no hugepages);
//! - `srgate check-config FILE`: validate a configuration file;
//! - `srgate version`: build and DPDK versions.
#![deny(unsafe_code)]

mod config;
mod control;
mod demo;
mod run;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::run::RunOptions;

#[derive(Parser, Debug)]
#[command(name = "srgate", version, about = "DPDK segment-routing gateway")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Stop after this many seconds.
    #[arg(long, value_parser = parse_secs)]
    duration: Option<Duration>,
    /// Stop once no packet has arrived for this many milliseconds (for finite inputs such
    /// as a pcap file).
    #[arg(long, value_name = "MS", value_parser = parse_ms)]
    exit_idle_ms: Option<Duration>,
    /// Write the final counters as JSON to this file.
    #[arg(long, value_name = "FILE")]
    stats_json: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the data plane from a configuration file.
    Run {
        /// The configuration file (see config/).
        #[arg(long, short)]
        config: PathBuf,
        #[command(flatten)]
        args: RunArgs,
        /// Extra EAL arguments, after `--`.
        #[arg(last = true)]
        eal: Vec<String>,
    },
    /// Run the main job on the embedded default configuration and generated traffic.
    Demo {
        #[command(flatten)]
        args: RunArgs,
        /// Where to write the generated traffic (default: a temporary directory).
        #[arg(long)]
        workdir: Option<PathBuf>,
    },
    /// Validate a configuration file and print what it sets up.
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
    /// Print srgate's version and the DPDK version it runs on.
    Version,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("expected seconds (e.g. 5 or 0.5), got {s:?}"))?;
    if !(0.0..=31_536_000.0).contains(&v) {
        return Err(format!("expected 0..=31536000 seconds, got {s}"));
    }
    Ok(Duration::from_secs_f64(v))
}

fn parse_ms(s: &str) -> Result<Duration, String> {
    let v: u64 = s
        .parse()
        .map_err(|_| format!("expected milliseconds (an integer), got {s:?}"))?;
    Ok(Duration::from_millis(v))
}

fn options(a: RunArgs, eal: Vec<String>) -> RunOptions {
    RunOptions {
        duration: a.duration,
        exit_idle: a.exit_idle_ms,
        stats_json: a.stats_json,
        eal_extra: eal,
    }
}

/// A closed stdout (`srgate ... | head`) is not an error worth a backtrace.
fn quiet_pipe(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn print_config(out: &mut impl Write, cfg: &Config, file: &Path) -> std::io::Result<()> {
    writeln!(out, "{}: ok", file.display())?;
    for p in &cfg.ports {
        writeln!(
            out,
            "  port {:<12} {} ({} rx queues)",
            p.name, p.device, p.rx_queues
        )?;
    }
    for x in &cfg.xconnect {
        writeln!(out, "  xconnect {} -> {} dst {}", x.from, x.to, x.dst_mac)?;
    }
    for a in &cfg.adjacency {
        writeln!(
            out,
            "  adjacency {} -> port {} dst {}",
            a.name, a.port, a.dst_mac
        )?;
    }
    if let Some(m) = &cfg.tables.mpls {
        writeln!(
            out,
            "  mpls: {} LFIB entries, {} anycast SIDs, {} V-LFIBs",
            m.lfib.len(),
            m.anycast.len(),
            m.vlfib.len()
        )?;
    }
    let t = &cfg.tables;
    for (name, on) in [
        ("srou", t.srou.is_some()),
        ("overlay", t.overlay.is_some()),
        ("service", t.service.is_some()),
        ("dyncast", t.dyncast.is_some()),
        ("stamp", t.stamp.is_some()),
    ] {
        if on {
            writeln!(out, "  {name}: configured")?;
        }
    }
    if let Some(c) = &cfg.control {
        if let Ok(cc) = c.controller_config(cfg, file) {
            writeln!(
                out,
                "  control: node {} ({}), etcd {}, lease {} s{}",
                cc.node.name,
                cc.node.role,
                cc.etcd.endpoints.join(","),
                cc.lease_ttl.as_secs(),
                if cc.etcd.tls.is_some() { ", TLS" } else { "" }
            )?;
            for (k, v) in &cc.static_keys {
                writeln!(out, "    writes {k} = {v}")?;
            }
            for l in &cc.links {
                writeln!(
                    out,
                    "    reports link to {} (metric {})",
                    l.neighbor, l.metric
                )?;
            }
            let compiles: Vec<&str> = [
                (
                    "mpls",
                    cfg.tables.mpls.as_ref().is_some_and(|m| m.srgb.is_some()),
                ),
                ("overlay", cc.overlay.is_some()),
                ("service", cc.service.is_some()),
                ("srou tokens", cc.token_mode.is_some()),
                ("route control", cc.overlay.is_some()),
                ("dyncast", cc.dyncast_adjacency.is_some()),
                ("stamp reverse paths", cc.reverse_paths),
            ]
            .into_iter()
            .filter_map(|(n, on)| on.then_some(n))
            .collect();
            writeln!(out, "    compiles from etcd: {}", compiles.join(", "))?;
        }
    }
    writeln!(out, "  EAL: {}", cfg.eal_args(&[]).join(" "))
}

fn main() -> Result<()> {
    // Before any thread exists: the memory of replaced tables stays in the process for the
    // next build instead of going back to the kernel, whose TLB shootdowns and RCU work
    // would interrupt the worker cores at each replacement (dpdk_sys::mem docs).
    let kept = dpdk_sys::mem::keep_freed_memory();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SRGATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    tracing::debug!(kept, "allocator keeps freed memory");
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Version => {
            println!(
                "srgate {} ({}, {})",
                env!("CARGO_PKG_VERSION"),
                env!("SRGATE_GIT_DESCRIBE"),
                env!("SRGATE_BUILD_PROFILE")
            );
            println!("built against DPDK {}", dpdk_sys::BUILD_DPDK_VERSION);
            println!("running on {}", dpdk_sys::eal::version());
        }
        Cmd::CheckConfig { file } => {
            let cfg = Config::load(&file)?;
            quiet_pipe(print_config(&mut std::io::stdout().lock(), &cfg, &file))?;
        }
        Cmd::Run { config, args, eal } => {
            let cfg = Config::load(&config)?;
            let report = run::run(&cfg, &config, &options(args, eal))?;
            quiet_pipe(run::print_report(&mut std::io::stdout().lock(), &report))?;
        }
        Cmd::Demo { args, workdir } => {
            let dir = match workdir {
                Some(d) => d,
                None => std::env::temp_dir().join(format!("srgate-demo-{}", std::process::id())),
            };
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let cfg = demo::prepare(&dir)?;
            let mut opts = options(args, Vec::new());
            if opts.duration.is_none() {
                opts.duration = Some(Duration::from_secs(5));
            }
            println!(
                "srgate demo: {} ports, traffic from {}, running {:?}",
                cfg.ports.len(),
                dir.display(),
                opts.duration.unwrap_or_default()
            );
            let report = run::run(&cfg, Path::new("<embedded config/demo.toml>"), &opts)?;
            quiet_pipe(run::print_report(&mut std::io::stdout().lock(), &report))?;
        }
    }
    Ok(())
}
