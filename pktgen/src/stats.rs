//! Receive-side accounting: per stream, which sequence numbers arrived (loss, reordering,
//! duplicates), and the latency of every packet into an hdrhistogram.
//!
//! Definitions (per stream, after RFC 4737's "reordered" and the usual generator
//! conventions):
//! - **received**: packets carrying the stream's signature;
//! - **duplicates**: a sequence number received again (detected within the last
//!   [`WINDOW`] sequence numbers below the highest seen);
//! - **reordered**: a packet whose sequence number is below the highest already received
//!   (it arrived after a later one), duplicates excluded;
//! - **lost**: sent − (received − duplicates), known once the sender's count is final.
//!
//! Everything is allocated when the receiver starts; recording a packet never allocates.

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::sig::{self, Found};

/// Sequence numbers below the highest seen for which duplicates are told apart from
/// late packets.
pub const WINDOW: u64 = 1024;
const WORDS: usize = (WINDOW / 64) as usize;
/// Highest latency the histogram holds, in ns (one hour); above it values are clamped.
pub const MAX_LATENCY_NS: u64 = 3_600_000_000_000;

/// One stream's receive state.
#[derive(Debug, Clone)]
pub struct StreamRx {
    /// Packets received.
    pub received: u64,
    /// Duplicates among them.
    pub duplicates: u64,
    /// Late (reordered) packets among them.
    pub reordered: u64,
    /// Highest sequence number received (valid when `received > 0`).
    pub highest: u64,
    /// Latency sum in ns, for the mean.
    pub lat_sum_ns: u64,
    /// Smallest latency in ns.
    pub lat_min_ns: u64,
    /// Largest latency in ns.
    pub lat_max_ns: u64,
    /// Bit `s % WINDOW` set: sequence number `s` (within the window) was received.
    seen: [u64; WORDS],
}

impl Default for StreamRx {
    fn default() -> Self {
        StreamRx {
            received: 0,
            duplicates: 0,
            reordered: 0,
            highest: 0,
            lat_sum_ns: 0,
            lat_min_ns: u64::MAX,
            lat_max_ns: 0,
            seen: [0; WORDS],
        }
    }
}

impl StreamRx {
    #[inline]
    fn bit(&mut self, seq: u64) -> (&mut u64, u64) {
        let i = (seq % WINDOW) as usize;
        (&mut self.seen[i / 64], 1u64 << (i % 64))
    }

    /// Records sequence number `seq`.
    #[inline]
    pub fn record_seq(&mut self, seq: u64) {
        self.received += 1;
        if self.received == 1 {
            self.highest = seq;
            let (w, b) = self.bit(seq);
            *w |= b;
            return;
        }
        if seq > self.highest {
            // Clear the bits of the numbers skipped (they leave the window's past).
            let gap = seq - self.highest;
            if gap >= WINDOW {
                self.seen = [0; WORDS];
            } else {
                for s in self.highest + 1..seq {
                    let (w, b) = self.bit(s);
                    *w &= !b;
                }
            }
            self.highest = seq;
            let (w, b) = self.bit(seq);
            *w |= b;
        } else if self.highest - seq < WINDOW {
            let (w, b) = self.bit(seq);
            if *w & b != 0 {
                self.duplicates += 1;
            } else {
                *w |= b;
                self.reordered += 1;
            }
        } else {
            // Too old to tell a duplicate from a late packet: counted late.
            self.reordered += 1;
        }
    }

    /// Records one latency sample.
    #[inline]
    pub fn record_latency(&mut self, ns: u64) {
        self.lat_sum_ns = self.lat_sum_ns.saturating_add(ns);
        self.lat_min_ns = self.lat_min_ns.min(ns);
        self.lat_max_ns = self.lat_max_ns.max(ns);
    }

    /// Adds another receiver's counts for the same stream (several RX queues).
    pub fn merge(&mut self, o: &StreamRx) {
        self.received += o.received;
        self.duplicates += o.duplicates;
        self.reordered += o.reordered;
        self.highest = self.highest.max(o.highest);
        self.lat_sum_ns = self.lat_sum_ns.saturating_add(o.lat_sum_ns);
        self.lat_min_ns = self.lat_min_ns.min(o.lat_min_ns);
        self.lat_max_ns = self.lat_max_ns.max(o.lat_max_ns);
    }
}

/// What one RX lcore accumulates.
#[derive(Debug)]
pub struct RxState {
    /// Per stream.
    pub streams: Vec<StreamRx>,
    /// Latency of every matched packet, in ns.
    pub latency: Histogram<u64>,
    /// Packets with a signature of a flow stream.
    pub matched: u64,
    /// Bytes of those (frames without FCS).
    pub matched_bytes: u64,
    /// Packets carrying the malformed stream's signature (the DUT forwarded them).
    pub malformed: u64,
    /// Packets without a signature (not ours, or damaged).
    pub unmatched: u64,
    /// Samples whose RX TSC was before the TX TSC (not recorded).
    pub clock_errors: u64,
    tsc_hz: u64,
}

impl RxState {
    /// State for `streams` streams; `tsc_hz` converts cycles to ns.
    pub fn new(streams: u32, tsc_hz: u64) -> RxState {
        RxState {
            streams: vec![StreamRx::default(); streams as usize],
            latency: Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3)
                .expect("valid histogram bounds"),
            matched: 0,
            matched_bytes: 0,
            malformed: 0,
            unmatched: 0,
            clock_errors: 0,
            tsc_hz: tsc_hz.max(1),
        }
    }

    /// Cycles to ns.
    #[inline]
    pub fn cycles_to_ns(&self, cycles: u64) -> u64 {
        (u128::from(cycles) * 1_000_000_000 / u128::from(self.tsc_hz)) as u64
    }

    /// Accounts one received frame of `len` bytes at `rx_tsc` whose signature search gave
    /// `found`.
    #[inline]
    pub fn record(&mut self, found: Option<Found>, len: usize, rx_tsc: u64) {
        let Some(f) = found else {
            self.unmatched += 1;
            return;
        };
        if f.stream == sig::MALFORMED {
            self.malformed += 1;
            return;
        }
        let ns = if rx_tsc >= f.tsc {
            Some(self.cycles_to_ns(rx_tsc - f.tsc))
        } else {
            self.clock_errors += 1;
            None
        };
        let Some(st) = self.streams.get_mut(f.stream as usize) else {
            self.unmatched += 1;
            return;
        };
        let seq = if f.short && st.received > 0 {
            sig::extend_seq(f.seq as u32, st.highest)
        } else {
            f.seq
        };
        st.record_seq(seq);
        self.matched += 1;
        self.matched_bytes += len as u64;
        if let Some(ns) = ns {
            st.record_latency(ns);
            self.latency.saturating_record(ns.clamp(1, MAX_LATENCY_NS));
        }
    }

    /// Adds another RX lcore's state.
    pub fn merge(&mut self, o: &RxState) {
        for (a, b) in self.streams.iter_mut().zip(&o.streams) {
            a.merge(b);
        }
        let _ = self.latency.add(&o.latency);
        self.matched += o.matched;
        self.matched_bytes += o.matched_bytes;
        self.malformed += o.malformed;
        self.unmatched += o.unmatched;
        self.clock_errors += o.clock_errors;
    }
}

/// Latency percentiles in ns.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LatencyReport {
    /// Samples.
    pub samples: u64,
    /// Minimum.
    pub min: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Maximum.
    pub max: u64,
}

impl LatencyReport {
    /// Percentiles of `h` (all zero when empty).
    pub fn of(h: &Histogram<u64>) -> LatencyReport {
        if h.is_empty() {
            return LatencyReport::default();
        }
        LatencyReport {
            samples: h.len(),
            min: h.min(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// One stream in the result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StreamReport {
    /// Stream id (the flow index).
    pub id: u32,
    /// Its UDP source port.
    pub udp_src_port: u16,
    /// TX core that sent it.
    pub tx_core: u32,
    /// Packets sent.
    pub sent: u64,
    /// Packets received (duplicates included).
    pub received: u64,
    /// sent − (received − duplicates).
    pub lost: u64,
    /// Late packets.
    pub reordered: u64,
    /// Duplicates.
    pub duplicates: u64,
    /// Latency minimum, ns (0 without samples).
    pub latency_min_ns: u64,
    /// Latency mean, ns.
    pub latency_mean_ns: f64,
    /// Latency maximum, ns.
    pub latency_max_ns: u64,
}

impl StreamReport {
    /// Combines what was sent with what came back.
    pub fn new(id: u32, udp_src_port: u16, tx_core: u32, sent: u64, rx: &StreamRx) -> Self {
        let unique = rx.received - rx.duplicates;
        StreamReport {
            id,
            udp_src_port,
            tx_core,
            sent,
            received: rx.received,
            lost: sent.saturating_sub(unique),
            reordered: rx.reordered,
            duplicates: rx.duplicates,
            latency_min_ns: if rx.received > 0 && rx.lat_min_ns != u64::MAX {
                rx.lat_min_ns
            } else {
                0
            },
            latency_mean_ns: if rx.received > 0 {
                rx.lat_sum_ns as f64 / rx.received as f64
            } else {
                0.0
            },
            latency_max_ns: rx.lat_max_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seqs: &[u64]) -> StreamRx {
        let mut s = StreamRx::default();
        for q in seqs {
            s.record_seq(*q);
        }
        s
    }

    #[test]
    fn in_order_loss_reorder_duplicates() {
        let s = run(&[0, 1, 2, 3]);
        assert_eq!(
            (s.received, s.reordered, s.duplicates, s.highest),
            (4, 0, 0, 3)
        );
        let r = StreamReport::new(0, 1024, 0, 6, &s);
        assert_eq!(r.lost, 2);

        // 2 and 3 swapped, 5 lost, 4 duplicated.
        let s = run(&[0, 1, 3, 2, 4, 4, 6]);
        assert_eq!((s.received, s.reordered, s.duplicates), (7, 1, 1));
        let r = StreamReport::new(0, 1024, 0, 7, &s);
        assert_eq!(r.lost, 1);

        // A late packet older than the window counts as reordered.
        let s = run(&[0, 5000, 1]);
        assert_eq!((s.reordered, s.duplicates), (1, 0));
        // A duplicate right after a jump is still seen within the window.
        let s = run(&[10, 2000, 1990, 1990]);
        assert_eq!((s.reordered, s.duplicates), (1, 1));
        // Numbers skipped by a jump are not mistaken for duplicates when they come late.
        let s = run(&[0, 1, 1030, 1025]);
        assert_eq!((s.reordered, s.duplicates), (1, 0));
    }

    #[test]
    fn record_extends_short_sequences_and_measures_latency() {
        let mut st = RxState::new(2, 1_000_000_000);
        let f = |seq: u64, tsc: u64| Found {
            stream: 1,
            seq,
            short: true,
            tsc,
            offset: 0,
        };
        st.record(Some(f(0xffff_fffe, 100)), 60, 150);
        st.record(Some(f(0xffff_ffff, 100)), 60, 300);
        st.record(Some(f(0, 100)), 60, 1100);
        st.record(None, 60, 0);
        st.record(Some(f(1, 200)), 60, 100);
        st.record(
            Some(Found {
                stream: sig::MALFORMED,
                seq: 0,
                short: false,
                tsc: 0,
                offset: 0,
            }),
            60,
            0,
        );
        let s = &st.streams[1];
        assert_eq!((s.received, s.highest, s.reordered), (4, 0x1_0000_0001, 0));
        assert_eq!(
            (st.matched, st.unmatched, st.malformed, st.clock_errors),
            (4, 1, 1, 1)
        );
        let l = LatencyReport::of(&st.latency);
        assert_eq!((l.samples, l.min, l.max), (3, 50, 1000));
        assert_eq!(l.p50, 200);
        let mut other = RxState::new(2, 1_000_000_000);
        other.record(Some(f(0, 0)), 60, 10);
        st.merge(&other);
        assert_eq!(st.streams[1].received, 5);
        assert_eq!(LatencyReport::of(&st.latency).min, 10);
    }
}
