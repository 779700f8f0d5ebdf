//! Test support: real etcd servers (Debian's `etcd-server`) started on loopback ports, a
//! TLS certificate authority made with `openssl`, and a TCP proxy that can cut a client off
//! from etcd.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `openssl` certificates for a TLS etcd: a CA, a server certificate for 127.0.0.1 and a
/// client certificate; and a second CA whose client certificate etcd must refuse.
pub struct Pki {
    /// Where the files are.
    pub dir: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (install-deps)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pki {
    /// Makes the certificates in `dir`.
    pub fn new(dir: &Path) -> Pki {
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
        )
        .unwrap();
        std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
        for ca in ["ca", "rogue-ca"] {
            openssl(
                dir,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN=srgate-test-{ca}"),
                    "-keyout",
                    &format!("{ca}.key"),
                    "-out",
                    &format!("{ca}.pem"),
                ],
            );
        }
        for (name, ca, ext) in [
            ("server", "ca", "server.ext"),
            ("client", "ca", "client.ext"),
            ("rogue", "rogue-ca", "client.ext"),
        ] {
            openssl(
                dir,
                &[
                    "req",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-subj",
                    &format!("/CN={name}"),
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                ],
            );
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    &format!("{ca}.pem"),
                    "-CAkey",
                    &format!("{ca}.key"),
                    "-CAcreateserial",
                    "-days",
                    "2",
                    "-extfile",
                    ext,
                    "-out",
                    &format!("{name}.pem"),
                ],
            );
        }
        Pki {
            dir: dir.to_path_buf(),
        }
    }

    /// A file of the PKI.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// One etcd member running on loopback; killed when dropped.
pub struct Etcd {
    /// Client address.
    pub client: SocketAddr,
    /// Member name.
    pub name: String,
    child: Option<Child>,
    args: Vec<String>,
    log: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Etcd {
    /// A single-member etcd (plain HTTP).
    pub fn start() -> Etcd {
        Self::cluster(1, None).pop().expect("one member")
    }

    /// A single-member etcd serving TLS and demanding client certificates signed by the
    /// PKI's CA.
    pub fn start_tls(pki: &Pki) -> Etcd {
        Self::cluster(1, Some(pki)).pop().expect("one member")
    }

    /// An `n`-member cluster on loopback.
    pub fn cluster(n: usize, pki: Option<&Pki>) -> Vec<Etcd> {
        let scheme = if pki.is_some() { "https" } else { "http" };
        let members: Vec<(String, u16, u16)> = (0..n)
            .map(|i| (format!("m{i}"), free_port(), free_port()))
            .collect();
        let initial: Vec<String> = members
            .iter()
            .map(|(name, _, peer)| format!("{name}=http://127.0.0.1:{peer}"))
            .collect();
        let mut out: Vec<Etcd> = members
            .iter()
            .map(|(name, client, peer)| {
                let dir = tempfile::tempdir().expect("tempdir");
                let mut args = vec![
                    format!("--name={name}"),
                    format!("--data-dir={}", dir.path().join("data").display()),
                    format!("--listen-client-urls={scheme}://127.0.0.1:{client}"),
                    format!("--advertise-client-urls={scheme}://127.0.0.1:{client}"),
                    format!("--listen-peer-urls=http://127.0.0.1:{peer}"),
                    format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer}"),
                    format!("--initial-cluster={}", initial.join(",")),
                    "--initial-cluster-state=new".into(),
                    "--heartbeat-interval=50".into(),
                    "--election-timeout=500".into(),
                    "--log-level=warn".into(),
                ];
                if let Some(p) = pki {
                    args.push(format!("--cert-file={}", p.file("server.pem").display()));
                    args.push(format!("--key-file={}", p.file("server.key").display()));
                    args.push("--client-cert-auth".into());
                    args.push(format!("--trusted-ca-file={}", p.file("ca.pem").display()));
                }
                let log = dir.path().join("etcd.log");
                let mut e = Etcd {
                    client: SocketAddr::from(([127, 0, 0, 1], *client)),
                    name: name.clone(),
                    child: None,
                    args,
                    log,
                    _dir: Some(dir),
                };
                e.spawn();
                e
            })
            .collect();
        for e in &mut out {
            e.wait_listening();
        }
        out
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(&self.log).expect("etcd log");
        let child = Command::new("etcd")
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd runs (scripts/install-deps.sh installs etcd-server)");
        self.child = Some(child);
    }

    fn wait_listening(&mut self) {
        let t0 = Instant::now();
        while std::net::TcpStream::connect(self.client).is_err() {
            if let Some(Ok(Some(st))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("etcd exited ({st}): {}", self.log_text());
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "etcd did not listen: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The member's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `host:port` for clients.
    pub fn endpoint(&self) -> String {
        self.client.to_string()
    }

    /// Runs `etcdctl` against this member (plain HTTP); panics when it fails.
    pub fn ctl(&self, args: &[&str]) -> String {
        let out = Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints=http://{}", self.client))
            .args(args)
            .output()
            .expect("etcdctl runs (etcd-client package)");
        assert!(
            out.status.success(),
            "etcdctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends a signal (`"STOP"`, `"CONT"`, `"KILL"`) to the member.
    pub fn signal(&self, sig: &str) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(c.id().to_string())
                .status();
        }
    }

    /// Kills the member for good.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Kills and starts the member again on the same ports and data.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.wait_listening();
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP proxy in front of etcd that a test can cut (every connection closed, new ones
/// refused) and restore: the client sees etcd vanish while etcd itself goes on.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<std::net::TcpStream>>>,
}

impl Proxy {
    /// A proxy to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<std::net::TcpStream>>> = Arc::default();
        let (up2, conns2) = (Arc::clone(&up), Arc::clone(&conns));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(upstream) else {
                    continue;
                };
                for s in [&client, &server] {
                    if let Ok(c) = s.try_clone() {
                        conns2.lock().unwrap().push(c);
                    }
                }
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Proxy { addr, up, conns }
    }

    /// `host:port` for clients.
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// Polls `f` every 20 ms until it returns `Some`, or panics after `limit` naming `what`.
pub async fn eventually<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            t0.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
