//! System-label allocation (seed `000_*`, "Node Label allocation"): under the distributed
//! lock `/lock/systemlabel`, read every `/systemlabel/X`, take the smallest integer not
//! present and write `/systemlabel/X` = the system name, then release the lock.
//!
//! The lock and the label key are both bound to the node's registration lease: a node that
//! dies while holding the lock releases it when its lease expires (etcd's lock semantics),
//! and its label is freed with the rest of its keys, so labels stay dense. The write is a
//! transaction guarded on the key not existing, so even a broken lock cannot give one label
//! to two nodes. A node whose label is still held under its current lease keeps it; with a
//! new lease (after the old one expired) it takes the smallest free label again.

use std::time::Duration;

use etcd_client::{Client, Compare, CompareOp, GetOptions, LockOptions, PutOptions, Txn, TxnOp};

use super::client::EtcdError;
use super::schema::MAX_SYSTEM_LABEL;

/// The lock's name (seed `000_*`).
pub const LOCK: &str = "/lock/systemlabel";
/// The prefix of taken labels.
pub const PREFIX: &str = "/systemlabel/";

/// The smallest integer not in `taken` (which need not be sorted).
pub fn smallest_free(taken: &[u32]) -> Option<u32> {
    let mut t: Vec<u32> = taken.to_vec();
    t.sort_unstable();
    t.dedup();
    let mut want = 0u32;
    for x in t {
        if x > want {
            break;
        }
        if x == want {
            want = want.checked_add(1)?;
        }
    }
    (want <= MAX_SYSTEM_LABEL).then_some(want)
}

/// Allocates (or finds) `name`'s label under the lock, bound to `lease`. Waits at most
/// `lock_wait` for the lock.
pub async fn allocate(
    client: &mut Client,
    name: &str,
    lease: i64,
    lock_wait: Duration,
) -> Result<u32, EtcdError> {
    // A lock request blocks until the lock is free, but every request carries the client's
    // deadline: retry until `lock_wait` is spent (a cancelled attempt leaves no key).
    let t0 = std::time::Instant::now();
    let locked = loop {
        let left = lock_wait.saturating_sub(t0.elapsed());
        if left.is_zero() {
            return Err(EtcdError::Timeout("acquiring /lock/systemlabel"));
        }
        let attempt = tokio::time::timeout(
            left,
            client.lock(LOCK, Some(LockOptions::new().with_lease(lease))),
        )
        .await;
        match attempt {
            Err(_) => return Err(EtcdError::Timeout("acquiring /lock/systemlabel")),
            Ok(Ok(l)) => break l,
            // gRPC codes 1 (CANCELLED: the client's deadline) and 4 (DEADLINE_EXCEEDED).
            Ok(Err(etcd_client::Error::GRpcStatus(s))) if matches!(s.code() as i32, 1 | 4) => {
                continue
            }
            Ok(Err(e)) => return Err(e.into()),
        }
    };
    let lock_key = locked.key().to_vec();
    let result = allocate_locked(client, name, lease).await;
    if let Err(e) = client.unlock(lock_key).await {
        // The lease still bounds the lock's life.
        tracing::warn!(error = %e, "unlocking /lock/systemlabel failed");
    }
    result
}

async fn allocate_locked(client: &mut Client, name: &str, lease: i64) -> Result<u32, EtcdError> {
    let r = client
        .get(PREFIX, Some(GetOptions::new().with_prefix()))
        .await?;
    let mut taken = Vec::with_capacity(r.kvs().len());
    for kv in r.kvs() {
        let Some(x) = kv
            .key()
            .strip_prefix(PREFIX.as_bytes())
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| s.parse::<u32>().ok())
        else {
            tracing::warn!(key = %String::from_utf8_lossy(kv.key()), "ignoring malformed system label key");
            continue;
        };
        if kv.value() == name.as_bytes() && kv.lease() == lease {
            return Ok(x);
        }
        taken.push(x);
    }
    let x = smallest_free(&taken).ok_or(EtcdError::LabelsExhausted)?;
    let key = format!("{PREFIX}{x}");
    let txn = Txn::new()
        .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
        .and_then([TxnOp::put(
            key.clone(),
            name,
            Some(PutOptions::new().with_lease(lease)),
        )]);
    let t = client.txn(txn).await?;
    if !t.succeeded() {
        return Err(EtcdError::Options(format!(
            "{key} was taken while holding {LOCK} (lock lost?)"
        )));
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_free_fills_gaps_first() {
        assert_eq!(smallest_free(&[]), Some(0));
        assert_eq!(smallest_free(&[0, 1, 2]), Some(3));
        assert_eq!(smallest_free(&[2, 0, 3]), Some(1));
        assert_eq!(smallest_free(&[1, 1, 5]), Some(0));
        assert_eq!(smallest_free(&[0, 0, 1]), Some(2));
    }

    #[test]
    fn smallest_free_against_a_linear_reference() {
        use proptest::prelude::*;
        proptest!(|(taken in proptest::collection::vec(0u32..64, 0..80))| {
            let reference = (0u32..).find(|x| !taken.contains(x));
            prop_assert_eq!(smallest_free(&taken), reference);
        });
    }
}
