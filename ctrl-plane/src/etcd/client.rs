//! Connecting to etcd: endpoints, timeouts, TLS with client certificates (seed `000_*`,
//! "Security Considerations": both sides verified) and reconnection with back-off.

use std::path::PathBuf;
use std::time::Duration;

use etcd_client::{Certificate, Client, ConnectOptions, Identity, TlsOptions};

/// An error talking to etcd.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// The client library failed (connection, timeout, server error).
    #[error("etcd: {0}")]
    Client(Box<etcd_client::Error>),
    /// A TLS file could not be read.
    #[error("reading TLS file {path}: {source}")]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The options are unusable.
    #[error("etcd options: {0}")]
    Options(String),
    /// The operation did not finish in time.
    #[error("etcd: {0} timed out")]
    Timeout(&'static str),
    /// The lease this node registered under is gone.
    #[error("etcd: lease {0:x} is gone")]
    LeaseLost(i64),
    /// No free system label is left.
    #[error("etcd: no free system label below 2^24")]
    LabelsExhausted,
}

impl From<etcd_client::Error> for EtcdError {
    fn from(e: etcd_client::Error) -> Self {
        EtcdError::Client(Box::new(e))
    }
}

/// PEM files for a TLS connection with a client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA that signed the server's certificate.
    pub ca: PathBuf,
    /// This node's certificate.
    pub cert: PathBuf,
    /// This node's private key.
    pub key: PathBuf,
    /// Name to verify the server certificate against (default: the endpoint's host).
    pub server_name: Option<String>,
}

/// How to reach etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdOptions {
    /// `host:port` (or `http(s)://host:port`) of each member.
    pub endpoints: Vec<String>,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Deadline of every request.
    pub request_timeout: Duration,
    /// TLS with client certificates; `None`: plain HTTP (loopback tests only).
    pub tls: Option<TlsFiles>,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        EtcdOptions {
            endpoints: vec!["127.0.0.1:2379".into()],
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(3),
            tls: None,
        }
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>, EtcdError> {
    std::fs::read(path).map_err(|source| EtcdError::TlsFile {
        path: path.clone(),
        source,
    })
}

/// Opens a client. The channel is balanced over the endpoints and connects lazily; every
/// request carries `request_timeout`, so a dead cluster gives errors, never a hang.
pub async fn connect(opts: &EtcdOptions) -> Result<Client, EtcdError> {
    if opts.endpoints.is_empty() {
        return Err(EtcdError::Options("no endpoint".into()));
    }
    let mut co = ConnectOptions::new()
        .with_connect_timeout(opts.connect_timeout)
        .with_timeout(opts.request_timeout)
        .with_keep_alive(Duration::from_secs(2), opts.request_timeout)
        .with_keep_alive_while_idle(true);
    let mut endpoints = opts.endpoints.clone();
    if let Some(t) = &opts.tls {
        let mut tls = TlsOptions::new()
            .ca_certificate(Certificate::from_pem(read(&t.ca)?))
            .identity(Identity::from_pem(read(&t.cert)?, read(&t.key)?));
        if let Some(name) = &t.server_name {
            tls = tls.domain_name(name.clone());
        }
        co = co.with_tls(tls);
        for e in &mut endpoints {
            if let Some(rest) = e.strip_prefix("http://") {
                *e = format!("https://{rest}");
            } else if !e.starts_with("https://") {
                *e = format!("https://{e}");
            }
        }
    }
    Ok(Client::connect(endpoints, Some(co)).await?)
}

/// Exponential back-off with jitter for reconnecting: `initial`, doubling to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
    seed: u64,
}

impl Backoff {
    /// A back-off from `initial` to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1;
        Backoff {
            initial,
            max,
            next: initial,
            seed,
        }
    }

    /// The next delay: the current step plus up to 25 % jitter; the step then doubles.
    pub fn next_delay(&mut self) -> Duration {
        // xorshift64: jitter only, not security.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let base = self.next;
        let jitter = base.mul_f64((self.seed % 1000) as f64 / 4000.0);
        self.next = (self.next * 2).min(self.max);
        base + jitter
    }

    /// Back to the initial step after a success.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_with_bounded_jitter_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let steps: Vec<Duration> = (0..6).map(|_| b.next_delay()).collect();
        let bases = [100u64, 200, 400, 800, 1000, 1000];
        for (d, base) in steps.iter().zip(bases) {
            let base = Duration::from_millis(base);
            assert!(*d >= base && *d <= base.mul_f64(1.25), "{d:?} vs {base:?}");
        }
        b.reset();
        assert!(b.next_delay() < Duration::from_millis(126));
    }

    #[tokio::test]
    async fn no_endpoint_is_an_error() {
        let o = EtcdOptions {
            endpoints: vec![],
            ..EtcdOptions::default()
        };
        assert!(matches!(connect(&o).await, Err(EtcdError::Options(_))));
    }

    #[tokio::test]
    async fn missing_tls_file_names_the_file() {
        let o = EtcdOptions {
            tls: Some(TlsFiles {
                ca: "/nonexistent/ca.pem".into(),
                cert: "/nonexistent/c.pem".into(),
                key: "/nonexistent/k.pem".into(),
                server_name: None,
            }),
            ..EtcdOptions::default()
        };
        let Err(e) = connect(&o).await else {
            panic!("connect must fail")
        };
        let e = e.to_string();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }
}
