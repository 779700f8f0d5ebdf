//! Keeping a [`View`] current: a consistent snapshot, then a watch from the revision after
//! it.
//!
//! - The snapshot is read page by page at one revision R (`Get` with `revision = R`), so it
//!   is consistent however many keys there are; the watch then starts at R + 1.
//! - When the stream breaks (member restart, leader change, network), the watch resumes
//!   from the last revision applied + 1 after a back-off: nothing is missed, nothing is
//!   applied twice.
//! - When etcd answers that the revision has been compacted, resuming is impossible (the
//!   compacted changes are gone): the view is rebuilt from a fresh snapshot and the watch
//!   starts after it (see `NOTES.md`: never resume from the compact revision itself).
//! - Updates are batched: after a watch response the syncer waits up to `settle` for more
//!   before handing the view to the consumer, and never longer than `max_batch_delay`
//!   while changes keep coming (bulk loads compile a few times, not once per key).
//!
//! Keys under `/lock/` (the distributed lock's own keys) are not part of the view.

use std::time::{Duration, Instant};

use etcd_client::{Client, EventType, GetOptions, WatchOptions};

use super::client::{Backoff, EtcdError};
use super::view::{Applied, View};

/// The whole key space the view covers: every key starting with `/`.
const ROOT: &[u8] = b"/";
/// The end of that range (`/` + 1).
const ROOT_END: &[u8] = b"0";
/// Keys that are not schema data.
const IGNORED: &[u8] = b"/lock/";

/// Why the consumer is being called.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncReason {
    /// A full snapshot was (re)loaded: the first one, or after a compaction.
    Snapshot {
        /// True when caused by a compaction.
        after_compaction: bool,
    },
    /// Changes from the watch.
    Changes {
        /// Keys put or deleted (rejected values are not listed).
        changed: Vec<Applied>,
        /// Values rejected in this batch.
        rejected: usize,
    },
}

/// Tuning of a [`Syncer`].
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Keys per page of a snapshot.
    pub page: i64,
    /// How long to wait for more changes before handing over a batch.
    pub settle: Duration,
    /// The longest a batch is held while changes keep arriving.
    pub max_batch_delay: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            page: 5000,
            settle: Duration::from_millis(2),
            max_batch_delay: Duration::from_millis(50),
        }
    }
}

/// Keeps a view in sync with etcd and hands it to a consumer after every batch.
pub struct Syncer {
    view: View,
    opts: SyncOptions,
    resyncs: u64,
}

fn ignored(key: &[u8]) -> bool {
    key.starts_with(IGNORED)
}

impl Syncer {
    /// A syncer with an empty view.
    pub fn new(opts: SyncOptions) -> Self {
        Syncer {
            view: View::new(),
            opts,
            resyncs: 0,
        }
    }

    /// The current view.
    pub fn view(&self) -> &View {
        &self.view
    }

    /// Full snapshots loaded so far (the first one included).
    pub fn snapshots(&self) -> u64 {
        self.resyncs
    }

    /// Replaces the view by a consistent snapshot; returns its revision.
    pub async fn snapshot(&mut self, client: &mut Client) -> Result<i64, EtcdError> {
        let mut view = View::new();
        let mut start = ROOT.to_vec();
        let mut revision = 0i64;
        loop {
            let mut o = GetOptions::new()
                .with_range(ROOT_END)
                .with_limit(self.opts.page);
            if revision > 0 {
                o = o.with_revision(revision);
            }
            let r = client.get(start.clone(), Some(o)).await?;
            if revision == 0 {
                revision = r.header().map(|h| h.revision()).unwrap_or(0);
            }
            for kv in r.kvs() {
                if !ignored(kv.key()) {
                    view.put(kv.key(), kv.value());
                }
            }
            match (r.more(), r.kvs().last()) {
                (true, Some(last)) => {
                    start = last.key().to_vec();
                    start.push(0);
                }
                _ => break,
            }
        }
        view.set_revision(revision);
        self.view = view;
        self.resyncs += 1;
        Ok(revision)
    }

    /// Runs forever: snapshot, watch, resume or resync, calling `consumer` with the view
    /// after each batch. Connection errors are retried with back-off; `connect` makes a
    /// fresh client when the old one keeps failing. Returns only when `consumer` returns
    /// `false`.
    pub async fn run<C, F, Fut>(&mut self, mut client: Client, connect: C, mut consumer: F)
    where
        C: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Client, EtcdError>>,
        F: FnMut(&View, SyncReason) -> bool,
    {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(3));
        let mut need_snapshot = true;
        let mut after_compaction = false;
        loop {
            if need_snapshot {
                match self.snapshot(&mut client).await {
                    Ok(rev) => {
                        tracing::info!(
                            revision = rev,
                            keys = self.view.len(),
                            "etcd snapshot loaded"
                        );
                        need_snapshot = false;
                        backoff.reset();
                        if !consumer(&self.view, SyncReason::Snapshot { after_compaction }) {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "etcd snapshot failed; retrying");
                        tokio::time::sleep(backoff.next_delay()).await;
                        if let Ok(c) = connect().await {
                            client = c;
                        }
                        continue;
                    }
                }
            }
            match self.watch_once(&mut client, &mut consumer).await {
                WatchEnd::Compacted(rev) => {
                    tracing::warn!(
                        compact_revision = rev,
                        last = self.view.revision(),
                        "watch revision compacted; resyncing from a fresh snapshot"
                    );
                    need_snapshot = true;
                    after_compaction = true;
                }
                WatchEnd::Broken(e) => {
                    tracing::warn!(error = %e, resume_from = self.view.revision() + 1, "etcd watch broke; resuming");
                    tokio::time::sleep(backoff.next_delay()).await;
                    if let Ok(c) = connect().await {
                        client = c;
                    }
                }
                WatchEnd::Stop => return,
            }
        }
    }

    async fn watch_once<F>(&mut self, client: &mut Client, consumer: &mut F) -> WatchEnd
    where
        F: FnMut(&View, SyncReason) -> bool,
    {
        let o = WatchOptions::new()
            .with_range(ROOT_END)
            .with_start_revision(self.view.revision() + 1)
            .with_progress_notify();
        let (_watcher, mut stream) = match client.watch(ROOT, Some(o)).await {
            Ok(w) => w,
            Err(e) => return WatchEnd::Broken(e.into()),
        };
        let mut changed = Vec::new();
        let mut rejected = 0usize;
        let mut batch_since: Option<Instant> = None;
        loop {
            let next = match batch_since {
                Some(t0) => {
                    let left = self.opts.max_batch_delay.saturating_sub(t0.elapsed());
                    if left.is_zero() {
                        // Old enough: hand it over even while more is queued (a zero
                        // timeout would still take a ready message first).
                        None
                    } else {
                        tokio::time::timeout(self.opts.settle.min(left), stream.message())
                            .await
                            .ok()
                    }
                }
                None => Some(stream.message().await),
            };
            let msg = match next {
                None => {
                    // Quiet for `settle` (or the batch is old enough): hand it over.
                    batch_since = None;
                    let reason = SyncReason::Changes {
                        changed: std::mem::take(&mut changed),
                        rejected: std::mem::take(&mut rejected),
                    };
                    if !consumer(&self.view, reason) {
                        return WatchEnd::Stop;
                    }
                    continue;
                }
                Some(Ok(Some(m))) => m,
                Some(Ok(None)) => {
                    return WatchEnd::Broken(EtcdError::Options("watch stream closed".into()))
                }
                Some(Err(e)) => return WatchEnd::Broken(e.into()),
            };
            if msg.canceled() {
                if msg.compact_revision() > 0 {
                    return WatchEnd::Compacted(msg.compact_revision());
                }
                return WatchEnd::Broken(EtcdError::Options(format!(
                    "watch canceled: {}",
                    msg.cancel_reason()
                )));
            }
            for ev in msg.events() {
                let Some(kv) = ev.kv() else { continue };
                if ignored(kv.key()) {
                    continue;
                }
                let a = match ev.event_type() {
                    EventType::Put => self.view.put(kv.key(), kv.value()),
                    EventType::Delete => self.view.delete(kv.key()),
                };
                match a {
                    Applied::Unchanged => {}
                    Applied::Rejected(_) => rejected += 1,
                    a => changed.push(a),
                }
                self.view.set_revision(kv.mod_revision());
            }
            if let Some(h) = msg.header() {
                // A progress notification (no events, not the creation answer) comes only
                // from a synced watcher: the view is current up to its revision. Other
                // headers may run ahead of catch-up events still to come.
                if msg.events().is_empty() && !msg.created() {
                    self.view.set_revision(h.revision());
                }
            }
            if (!changed.is_empty() || rejected > 0) && batch_since.is_none() {
                batch_since = Some(Instant::now());
            }
        }
    }
}

enum WatchEnd {
    Compacted(i64),
    Broken(EtcdError),
    Stop,
}
