//! `pktgen`: srgate's DPDK traffic generator.
//!
//! - `pktgen run --profile FILE [--json OUT] [-- EAL args]`: send, receive, report;
//! - `pktgen check-profile FILE`: validate a profile and print what it would send.
#![deny(unsafe_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Parser, Subcommand};
use pktgen::profile::{Profile, Rate, Spec, Stop};
use pktgen::run::{self, RunOptions};
use pktgen::template::Template;

#[derive(Parser, Debug)]
#[command(name = "pktgen", version, about = "srgate's DPDK traffic generator")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run a traffic profile.
    Run {
        /// The profile (see pktgen/profiles/).
        #[arg(long, short)]
        profile: PathBuf,
        /// Write the result as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Extra EAL arguments, after `--`.
        #[arg(last = true)]
        eal: Vec<String>,
    },
    /// Validate a profile and print what it would send.
    CheckProfile {
        /// The profile.
        file: PathBuf,
    },
}

/// A closed stdout (`pktgen ... | head`) is not an error worth a backtrace.
fn quiet_pipe(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn print_profile(out: &mut impl Write, p: &Profile, s: &Spec, file: &Path) -> std::io::Result<()> {
    writeln!(out, "{}: ok", file.display())?;
    writeln!(
        out,
        "  protocol {} | {} flows (UDP source ports {}..={}) | {} TX cores | burst {}",
        s.protocol.name(),
        s.flows,
        s.src_port,
        u32::from(s.src_port) + s.flows - 1,
        s.tx_cores,
        s.burst
    )?;
    writeln!(
        out,
        "  tx port {:?}, rx port {}",
        p.ports[s.tx_port].name,
        s.rx_port.map_or_else(
            || "none (send only)".to_string(),
            |i| format!("{:?}", p.ports[i].name)
        )
    )?;
    let rate = match s.rate {
        Rate::Unlimited => "as fast as the TX queues take".to_string(),
        Rate::Pps(pps) => format!("{pps} pps"),
        Rate::Percent(pct) => format!(
            "{pct}% of line rate ({:.0} pps at 10G, {:.0} pps at 100G; L1 convention: +20 B per frame)",
            s.line_rate_pps(10_000) * pct / 100.0,
            s.line_rate_pps(100_000) * pct / 100.0
        ),
    };
    let stop = match s.stop {
        Stop::Count(n) => format!("{n} packets"),
        Stop::Duration(d) => format!("{d:?}"),
    };
    writeln!(out, "  rate {rate}; stop after {stop}")?;
    if let Some(n) = s.malformed_every {
        writeln!(out, "  every {n}th packet per TX core malformed")?;
    }
    for (size, w) in &s.sizes {
        let t = Template::build(s, [0; 6], *size, false);
        writeln!(out, "  weight {w:>4}: {}", t.describe(s))?;
    }
    writeln!(out, "  EAL: {}", p.eal_args(&[]).join(" "))
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PKTGEN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::CheckProfile { file } => {
            let (p, s) = Profile::load_resolved(&file)?;
            quiet_pipe(print_profile(&mut std::io::stdout().lock(), &p, &s, &file))?;
        }
        Cmd::Run { profile, json, eal } => {
            let (p, s) = Profile::load_resolved(&profile)?;
            let opts = RunOptions {
                json,
                eal_extra: eal,
            };
            let report = run::run(&p, &s, &profile, &opts)?;
            quiet_pipe(run::print_report(&mut std::io::stdout().lock(), &report))?;
        }
    }
    Ok(())
}
