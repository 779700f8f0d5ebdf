//! srgate processes with a `[control]` section, joined by net_memif, and pktgen beside
//! them: the multi-process tests of the control plane.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// EAL arguments for test processes joined by memif.
pub const EAL: &str = r#"args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--no-telemetry", "--iova-mode=va", "--log-level=lib.eal:warning", "--log-level=pmd.net.memif:error"]"#;

/// The pktgen binary (built here if the workspace build did not make it yet).
pub fn pktgen() -> PathBuf {
    // Beside the srgate binary cargo built for these tests (same target directory,
    // whatever CARGO_TARGET_DIR says).
    let bin = Path::new(env!("CARGO_BIN_EXE_srgate")).with_file_name("pktgen");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "-p", "pktgen"])
            .status()
            .expect("cargo build -p pktgen");
        assert!(st.success());
    }
    bin
}

/// One srgate process with a `[control]` section, logging to its own directory.
pub struct Node {
    /// Its system name.
    pub name: &'static str,
    child: Option<Child>,
    dir: PathBuf,
}

impl Node {
    /// Starts `srgate run` for node `name`: `body` holds ports, adjacencies and tables,
    /// `control` extra `[control]` fields; registration uses a lease of `ttl_s`.
    pub fn start(
        dir: &Path,
        name: &'static str,
        etcd: &str,
        ttl_s: u64,
        (body, control): &(String, String),
    ) -> Node {
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("srgate.toml");
        let text = format!(
            "[eal]\n{EAL}\nfile_prefix = \"mn-{name}\"\n\n[dataplane]\ncores = [0]\nidle_empty_polls = 64\nidle_sleep_us = 200\nstats_interval_ms = 0\n\n[mempool]\nmbufs = 4095\ncache = 128\n\n{body}\n[control]\nname = \"{name}\"\nendpoints = [\"{etcd}\"]\nlease_ttl_s = {ttl_s}\nrequest_timeout_ms = 1000\nlocators = [\"{name}/1/10.0.0.1:8811/10.0.0.1:8811/p0/10000/10000\"]\n{control}"
        );
        std::fs::write(&cfg, text).unwrap();
        let log = std::fs::File::create(dir.join("srgate.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_srgate"))
            .args(["run", "--config"])
            .arg(&cfg)
            .arg("--stats-json")
            .arg(dir.join("stats.json"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn srgate");
        let n = Node {
            name,
            child: Some(child),
            dir,
        };
        n.wait_log("data plane running", Duration::from_secs(60));
        n
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("srgate.log")).unwrap_or_default()
    }

    /// Waits until its log contains `what`.
    pub fn wait_log(&self, what: &str, limit: Duration) {
        let t0 = Instant::now();
        while !self.log().contains(what) {
            assert!(
                t0.elapsed() < limit,
                "{}: no {what:?} in:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: gone without a word.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGINT, wait, and its final counters.
    pub fn stop(mut self) -> Value {
        let mut c = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-INT", &c.id().to_string()])
            .status();
        let t0 = Instant::now();
        loop {
            if let Some(st) = c.try_wait().unwrap() {
                assert!(
                    st.success(),
                    "{} exited with {st}:\n{}",
                    self.name,
                    self.log()
                );
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "{} did not stop",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        serde_json::from_slice(&std::fs::read(self.dir.join("stats.json")).unwrap()).unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `[[port]]` on net_memif (the socket's file stem numbers the device).
pub fn memif(name: &str, role: &str, sock: &Path) -> String {
    format!(
        "[[port]]\nname = \"{name}\"\ndevice = \"net_memif{},role={role},socket={}\"\n\n",
        sock.file_stem().unwrap().to_string_lossy(),
        sock.display()
    )
}

/// An `[[adjacency]]` named `name` on `port`.
pub fn adjacency(name: &str, port: &str) -> String {
    format!(
        "[[adjacency]]\nname = \"{name}\"\nport = \"{port}\"\ndst_mac = \"02:00:00:00:00:01\"\n\n"
    )
}

/// A u64 at JSON pointer `p`.
pub fn u(v: &Value, p: &str) -> u64 {
    v.pointer(p)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{p} in {v}"))
}

/// Kills the child if the test fails before waiting for it.
pub struct Guard(pub Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
/// Wraps a child so that it is killed on drop.
pub fn scopeguard(c: Child) -> Guard {
    Guard(c)
}
