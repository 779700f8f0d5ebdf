//! Node registration (seed `000_*`, "Node registration" and "Node Keepalive"): every key a
//! node writes lives under one lease kept alive at a third of its TTL. When the lease is
//! lost (the node was cut off longer than the TTL, or someone revoked it) etcd deletes all
//! of the node's keys; the node then registers again as soon as it can: a new lease, its
//! label allocated again under the lock, its keys written again.

use std::time::Duration;

use etcd_client::{Client, PutOptions};

use super::client::{Backoff, EtcdError};
use super::label;
use super::schema::{Key, Locator, NodeInfo, Role};

/// Who this node is.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeIdentity {
    /// Role.
    pub role: Role,
    /// Unique system name.
    pub name: String,
    /// Site or AS.
    pub site: u32,
    /// Latitude and longitude.
    pub location: Option<(f32, f32)>,
    /// SRoU locators published under `/service/<role>/<name>`.
    pub locators: Vec<Locator>,
}

/// One successful registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registered {
    /// The lease every key of the node hangs on.
    pub lease: i64,
    /// The system label allocated.
    pub label: u32,
}

/// Extra keys the node keeps under its lease (link state, stats, SIDs...), rewritten after
/// each registration.
pub type ExtraKeys = Vec<(String, String)>;

/// Registers: grants a lease of `ttl`, allocates the label, writes `/systemlabel/X`,
/// `/node/<role>/<name>`, `/service/<role>/<name>` and `extra`, all under the lease.
pub async fn register(
    client: &mut Client,
    node: &NodeIdentity,
    ttl: Duration,
    extra: &[(String, String)],
) -> Result<Registered, EtcdError> {
    let lease = client
        .lease_grant(ttl.as_secs().max(1) as i64, None)
        .await?
        .id();
    let label = label::allocate(client, &node.name, lease, ttl * 2).await?;
    let po = || Some(PutOptions::new().with_lease(lease));
    let info = NodeInfo {
        site: node.site,
        label,
        location: node.location,
    };
    let node_key = Key::Node {
        role: node.role,
        name: node.name.clone(),
    };
    client.put(node_key.path(), info.to_string(), po()).await?;
    if !node.locators.is_empty() {
        let key = Key::Service {
            role: node.role,
            name: node.name.clone(),
        };
        let v: Vec<String> = node.locators.iter().map(|l| l.to_string()).collect();
        client.put(key.path(), v.join(","), po()).await?;
    }
    for (k, v) in extra {
        client.put(k.as_str(), v.as_str(), po()).await?;
    }
    tracing::info!(node = %node.name, label, lease = format_args!("{lease:x}"), "registered in etcd");
    Ok(Registered { lease, label })
}

/// Keeps the lease alive until it is lost or the connection fails; returns why it stopped.
pub async fn keep_alive(client: &mut Client, lease: i64, ttl: Duration) -> EtcdError {
    let (mut keeper, mut stream) = match client.lease_keep_alive(lease).await {
        Ok(k) => k,
        Err(e) => return e.into(),
    };
    let period = (ttl / 3).max(Duration::from_millis(200));
    loop {
        if let Err(e) = keeper.keep_alive().await {
            return e.into();
        }
        match tokio::time::timeout(ttl, stream.message()).await {
            Err(_) => return EtcdError::Timeout("lease keep-alive"),
            Ok(Err(e)) => return e.into(),
            Ok(Ok(None)) => return EtcdError::Options("keep-alive stream closed".into()),
            Ok(Ok(Some(r))) if r.ttl() <= 0 => return EtcdError::LeaseLost(lease),
            Ok(Ok(Some(_))) => {}
        }
        tokio::time::sleep(period).await;
    }
}

/// Registers and keeps the registration alive forever, registering again whenever the
/// lease is lost and reconnecting with back-off when etcd is unreachable. `on_registered`
/// is told each new registration; `extra` gives the extra keys to write each time.
pub async fn maintain<C, Fut, R, E>(
    connect: C,
    node: NodeIdentity,
    ttl: Duration,
    mut extra: E,
    mut on_registered: R,
) where
    C: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Client, EtcdError>>,
    R: FnMut(Registered),
    E: FnMut() -> ExtraKeys,
{
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(3));
    let mut current: Option<Registered> = None;
    loop {
        let mut client = match connect().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "etcd unreachable; retrying");
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        // After a broken connection the lease may still be alive (a leader change, a
        // short outage): keep it, and with it the label and the keys.
        if let Some(reg) = current {
            match client.lease_time_to_live(reg.lease, None).await {
                Ok(t) if t.ttl() > 0 => {}
                Ok(_) => {
                    tracing::warn!(node = %node.name, "lease expired while disconnected; registering again");
                    current = None;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "etcd unreachable; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
            }
        }
        let reg = match current {
            Some(r) => r,
            None => match register(&mut client, &node, ttl, &extra()).await {
                Ok(r) => {
                    on_registered(r);
                    current = Some(r);
                    r
                }
                Err(e) => {
                    tracing::warn!(error = %e, "registration failed; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
            },
        };
        backoff.reset();
        match keep_alive(&mut client, reg.lease, ttl).await {
            EtcdError::LeaseLost(_) => {
                tracing::warn!(node = %node.name, "lease lost: every key of this node is gone; registering again");
                current = None;
            }
            e => {
                tracing::warn!(error = %e, "lease keep-alive failed; reconnecting");
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}
