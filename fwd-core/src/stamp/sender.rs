//! The STAMP Session-Sender in the data plane (RFC 8762 §4.2, unauthenticated mode): probe
//! each fabric peer's reflector from the forwarding workers themselves, as VPP runs BFD,
//! and measure round-trip time, one-way delay and jitter estimates, and loss.
//!
//! # The parts
//!
//! - [`SessionParams`] / [`SenderSession`]: one session (id, egress [`Adjacency`], this
//!   node's source address and UDP port, the peer reflector's address and port, interval,
//!   padding, TTL); [`SenderSession::emit`] writes a whole test packet (Ethernet, IPv4 or
//!   IPv6, UDP, the RFC 8762 §4.2.1 Session-Sender packet and zero padding, with the IPv4
//!   header checksum and the UDP checksum) into a byte slice, so it is tested without EAL.
//! - [`SenderTables`]: the sessions of one pipeline snapshot (inside
//!   [`super::StampTables`]) and the [`ProbeResults`] they write to.
//! - [`ProbeResults`]: the shared, lock-free results. Created **once per run** by srgate,
//!   outside any snapshot, and handed to every snapshot it builds, so results survive table
//!   replacements. [`MAX_SESSIONS`] slots, each on its own cache lines, relaxed atomics
//!   only. [`ProbeResults::snapshot`] reads everything for the control plane.
//! - [`ProbeScheduler`]: the sending side, run by one worker (srgate: the first lcore's)
//!   between bursts. At most every [`ProbeScheduler::POLL_EVERY`] it compares the TSC with
//!   each session's next due time and, when due, asks its caller to send one test packet
//!   (the worker allocates an mbuf from its probe pool, calls [`SenderSession::emit`] and
//!   puts it on the adjacency's TX queue; a failed allocation or a full queue is counted in
//!   `send_errors`, never retried at once, never fatal).
//! - [`receive`]: the receiving side, in [`crate::pipeline::Pipeline::process`] **before**
//!   the reflector: a UDP packet to a session's source address and port is that session's
//!   reply. It is validated, measured and **consumed** (handler `stamp-sender`: neither
//!   forwarded nor a drop); a malformed one is a drop under a `stamp-reply-*` reason.
//!
//! # Replies are never reflected again
//!
//! Replies come from the reflector's port (862) to the session's `source_port`, which
//! configuration requires to differ from this node's own reflector port; they are matched
//! here before the reflector looks at anything, and the reflector itself never answers a
//! packet *from* its port. Test packets this node sends to its own reflector address
//! (looped back by the network) are reflected like anyone's.
//!
//! # Sequence numbers, in-flight packets and loss (design)
//!
//! Each session numbers its test packets 0, 1, 2, ... (a 64-bit count; the low 32 bits go
//! on the wire and are widened again on receipt against the count sent). A sequence number
//! is consumed only by a packet the TX queue accepted, so `sent` counts packets that left.
//!
//! A packet is **in flight** until `timeout` (default 1 s) has passed since it was sent,
//! counted in intervals: before sending sequence number `n`, the sender **settles** every
//! sequence number below `n - ceil(timeout / interval)`. Settling reads the session's reply
//! ring ([`SEQ_RING`] entries, so `timeout / interval` is at most [`MAX_SETTLE_LAG`]): a
//! settled packet was either answered in time (`settled_received`) or is lost. A reply that
//! arrives after its packet was settled is counted as `late` and is lost for the loss
//! figures (RFC 8762 leaves the timeout to the sender; RFC 4656's default is similar).
//! Loss therefore never counts packets still in flight.
//!
//! The loss figures of a [`SessionSnapshot`]:
//! - `settled_sent` / `settled_received`: cumulative since the session began. Any window a
//!   caller likes is the difference of two snapshots ([`SessionSnapshot::loss_ppm_since`]).
//! - `window_sent` / `window_received` / `loss_ppm`: the last completed **loss window**
//!   of `ceil(loss_window / interval)` settled packets (default 10 s worth), or, until the
//!   first window completes, the packets settled so far. Both numbers are stored in one
//!   atomic word, so a reader never sees a torn window.
//!
//! # Delay and jitter (design)
//!
//! For each reply answered in time, `RTT = (T4 - T1) - (T3 - T2)` (RFC 8762 §4.2.1's
//! round trip without the reflector's residence time): T1 is the Session-Sender Timestamp
//! echoed by the reflector, T2/T3 its receive/transmit timestamps, T4 the receiving
//! burst's TSC through the worker's [`crate::clock::TscClock`]. A negative RTT (reflector
//! clock trouble) counts as 0. Kept: the last, minimum, maximum and mean RTT, and two
//! EWMAs over the **one-way delay estimate** `D = RTT / 2` (no clock synchronisation is
//! assumed between the nodes):
//! - `delay_us`: `d += (D - d) / 8` (RFC 6298's smoothing gain);
//! - `jitter_us`: RFC 3550 §6.4.1 interarrival jitter over the same estimates, in arrival
//!   order: `j += (|D(i) - D(i-1)| - j) / 16`.
//!
//! A reply whose Sender Sequence Number is below the highest one answered so far is also
//! counted `out_of_order` (it still counts as received); a second reply to the same
//! sequence number is a `duplicate` (consumed, not measured again).
//!
//! # Threads
//!
//! One worker sends and settles (single writer of the sender-side words); replies may be
//! received by any worker (RSS), so the receive-side words are updated with relaxed atomic
//! read-modify-writes (one per reply, at probe rates: a few per millisecond at most). The
//! snapshot reads relaxed words one by one: figures of different words may be one reply
//! apart; each loss window is consistent. Nothing here locks, allocates per packet or
//! panics.

use core::net::IpAddr;
use core::time::Duration;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use serde::Serialize;

use super::tables::{DEFAULT_ERROR_ESTIMATE, DEFAULT_PORT};
use super::wire::{
    ErrorEstimate, NtpTimestamp, ReflectorPacket, ReflectorRepr, SenderPacket, SenderRepr,
    SENDER_LEN,
};
use crate::adjacency::Adjacency;
use crate::drop::DropReason;
use crate::packet::{L3Kind, PacketMeta};
use crate::wire::{ethernet, ipv4, ipv6, udp, IpProtocol};

/// Slots of a [`ProbeResults`]: the most sessions (distinct ids) one run can have.
pub const MAX_SESSIONS: usize = 64;
/// Entries of each session's reply ring: the most packets in flight at once.
pub const SEQ_RING: usize = 1024;
/// The most intervals a test packet may stay in flight (`ceil(timeout / interval)`).
pub const MAX_SETTLE_LAG: u32 = SEQ_RING as u32 - 1;
/// The most zero bytes of padding after the 44-byte test packet (an IPv6 probe then
/// stays within a 1500-byte MTU).
pub const MAX_PADDING: u16 = 1400;
/// TTL / hop limit of test packets by default (the reflector reports the TTL it received,
/// so the sender can count the hops).
pub const DEFAULT_TTL: u8 = 255;
/// Interval between test packets by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);
/// Time after which an unanswered test packet counts as lost, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Span of the loss window by default.
pub const DEFAULT_LOSS_WINDOW: Duration = Duration::from_secs(10);

/// Gain of the one-way delay EWMA (RFC 6298's SRTT gain).
const DELAY_GAIN: f64 = 1.0 / 8.0;
/// Gain of the jitter EWMA (RFC 3550 §6.4.1).
const JITTER_GAIN: f64 = 1.0 / 16.0;
/// A word of `last_owd` holding no estimate yet (not a finite f64's bits).
const NO_OWD: u64 = u64::MAX;

/// One session as configured: who probes whom, how, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionParams {
    /// Session id: names the session's slot in [`ProbeResults`] across table replacements.
    pub id: u32,
    /// Egress port and MACs of the test packets.
    pub adjacency: Adjacency,
    /// This node's address the test packets come from (and the replies go to).
    pub source: IpAddr,
    /// This node's UDP port for the session (replies come back to it).
    pub source_port: u16,
    /// The peer reflector's address (same family as `source`).
    pub reflector: IpAddr,
    /// The peer reflector's UDP port (default 862).
    pub reflector_port: u16,
    /// Time between test packets.
    pub interval: Duration,
    /// Time after which an unanswered test packet is lost (rounded up to intervals).
    pub timeout: Duration,
    /// Span of the loss window (rounded up to intervals).
    pub loss_window: Duration,
    /// Zero bytes after the 44-byte Session-Sender packet.
    pub padding: u16,
    /// TTL / hop limit of test packets.
    pub ttl: u8,
    /// The Error Estimate written in test packets.
    pub error_estimate: ErrorEstimate,
}

impl SessionParams {
    /// A session with the defaults: reflector port 862, [`DEFAULT_INTERVAL`],
    /// [`DEFAULT_TIMEOUT`], [`DEFAULT_LOSS_WINDOW`], no padding, [`DEFAULT_TTL`], the
    /// reflector's default Error Estimate.
    pub fn new(
        id: u32,
        adjacency: Adjacency,
        source: IpAddr,
        source_port: u16,
        reflector: IpAddr,
    ) -> SessionParams {
        SessionParams {
            id,
            adjacency,
            source,
            source_port,
            reflector,
            reflector_port: DEFAULT_PORT,
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            loss_window: DEFAULT_LOSS_WINDOW,
            padding: 0,
            ttl: DEFAULT_TTL,
            error_estimate: DEFAULT_ERROR_ESTIMATE,
        }
    }
}

/// A validated session in a pipeline snapshot, bound to its [`ProbeResults`] slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderSession {
    params: SessionParams,
    slot: usize,
    interval_ns: u64,
    settle_lag: u32,
    window: u32,
}

impl SenderSession {
    /// The configuration.
    #[inline]
    pub fn params(&self) -> &SessionParams {
        &self.params
    }

    /// The session id.
    #[inline]
    pub fn id(&self) -> u32 {
        self.params.id
    }

    /// Its slot in [`ProbeResults`].
    #[inline]
    pub fn slot(&self) -> usize {
        self.slot
    }

    /// Intervals a test packet stays in flight before it is settled (answered or lost).
    #[inline]
    pub fn settle_lag(&self) -> u32 {
        self.settle_lag
    }

    /// Settled packets per loss window.
    #[inline]
    pub fn window(&self) -> u32 {
        self.window
    }

    /// Interval between test packets, in nanoseconds.
    #[inline]
    pub fn interval_ns(&self) -> u64 {
        self.interval_ns
    }

    /// Bytes of the whole frame [`SenderSession::emit`] writes.
    #[inline]
    pub fn frame_len(&self) -> usize {
        ethernet::HEADER_LEN + self.ip_header_len() + self.udp_len()
    }

    #[inline]
    fn ip_header_len(&self) -> usize {
        match self.params.source {
            IpAddr::V4(_) => ipv4::HEADER_LEN,
            IpAddr::V6(_) => ipv6::HEADER_LEN,
        }
    }

    #[inline]
    fn udp_len(&self) -> usize {
        udp::HEADER_LEN + SENDER_LEN + usize::from(self.params.padding)
    }

    /// Writes the test packet with sequence number `seq` and send time `t1` into the
    /// first [`SenderSession::frame_len`] bytes of `frame`: Ethernet (the adjacency's
    /// MACs), IPv4 (no options, DF, identification = low bits of `seq`, header checksum)
    /// or IPv6 (traffic class and flow label 0), UDP (`source_port` → `reflector_port`,
    /// checksum always computed), the Session-Sender packet (MBZ zero) and the zero
    /// padding. Returns the frame length, or `None` (nothing meaningful written) if
    /// `frame` is too short.
    pub fn emit(&self, frame: &mut [u8], seq: u32, t1: NtpTimestamp) -> Option<usize> {
        let p = &self.params;
        let len = self.frame_len();
        let frame = frame.get_mut(..len)?;
        let (eth, rest) = frame.split_at_mut(ethernet::HEADER_LEN);
        let ethertype = match p.source {
            IpAddr::V4(_) => ethernet::EtherType::IPV4,
            IpAddr::V6(_) => ethernet::EtherType::IPV6,
        };
        ethernet::Repr {
            src_addr: ethernet::Address(p.adjacency.src_mac),
            dst_addr: ethernet::Address(p.adjacency.dst_mac),
            ethertype,
        }
        .emit(&mut ethernet::Frame::new_unchecked(eth));
        let udp_len = self.udp_len();
        let (ip, dgram) = rest.split_at_mut(self.ip_header_len());
        match (p.source, p.reflector) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => ipv4::Repr {
                src_addr: src,
                dst_addr: dst,
                protocol: IpProtocol::UDP,
                payload_len: udp_len,
                ttl: p.ttl,
                dscp: 0,
                ident: seq as u16,
                dont_frag: true,
            }
            .emit(&mut ipv4::Packet::new_unchecked(ip)),
            (IpAddr::V6(src), IpAddr::V6(dst)) => ipv6::Repr {
                src_addr: src,
                dst_addr: dst,
                next_header: IpProtocol::UDP,
                payload_len: udp_len,
                hop_limit: p.ttl,
                traffic_class: 0,
                flow_label: 0,
            }
            .emit(&mut ipv6::Packet::new_unchecked(ip)),
            _ => return None,
        }
        let mut u = udp::Packet::new_unchecked(dgram);
        udp::Repr {
            src_port: p.source_port,
            dst_port: p.reflector_port,
            payload_len: udp_len - udp::HEADER_LEN,
        }
        .emit(&mut u);
        let payload = u.payload_mut();
        let (stamp, padding) = payload.split_at_mut(SENDER_LEN);
        SenderRepr {
            seq,
            timestamp: t1,
            error_estimate: p.error_estimate,
        }
        .emit(&mut SenderPacket::new_unchecked(stamp));
        padding.fill(0);
        u.fill_checksum(&p.source, &p.reflector);
        Some(len)
    }
}

/// An error adding a session to [`SenderTables`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SenderError {
    /// Source and reflector of different families.
    #[error("source and reflector addresses of different families")]
    FamilyMismatch,
    /// An address that cannot source or receive unicast test packets.
    #[error("address {0} is not a unicast address")]
    NotUnicast(IpAddr),
    /// UDP port 0.
    #[error("UDP port 0")]
    PortZero,
    /// An id used by another session of the same tables.
    #[error("session id {0} used twice")]
    DuplicateId(u32),
    /// Two sessions on the same source address and port (replies could not be told apart).
    #[error("source {0} port {1} used by two sessions")]
    DuplicateSource(IpAddr, u16),
    /// Interval 0 (or below a nanosecond).
    #[error("interval 0")]
    IntervalZero,
    /// `timeout / interval` above [`MAX_SETTLE_LAG`], or a zero timeout.
    #[error("timeout of {0} intervals (expected 1..={MAX_SETTLE_LAG})")]
    BadTimeout(u64),
    /// A loss window of zero or of more than 2^32 - 1 intervals.
    #[error("loss window of {0} intervals (expected 1..=4294967295)")]
    BadLossWindow(u64),
    /// Padding above [`MAX_PADDING`].
    #[error("{0} bytes of padding (expected at most {MAX_PADDING})")]
    PaddingTooLong(u16),
    /// TTL 0.
    #[error("TTL 0")]
    TtlZero,
    /// Error Estimate multiplier 0 (RFC 4656 §4.1.2).
    #[error("Error Estimate multiplier 0")]
    ErrorMultiplierZero,
    /// All [`MAX_SESSIONS`] slots of the [`ProbeResults`] are bound to other ids.
    #[error("more than {MAX_SESSIONS} session ids in one run")]
    TooManySessions,
}

/// The session-senders of one pipeline snapshot and the results they write to.
///
/// The default has no session (and costs nothing per packet).
#[derive(Debug, Clone, Default)]
pub struct SenderTables {
    sessions: Vec<SenderSession>,
    /// Source ports of the sessions: the first, cheap test of [`SenderTables::claims`].
    ports: Vec<u16>,
    results: Option<Arc<ProbeResults>>,
}

impl PartialEq for SenderTables {
    fn eq(&self, other: &Self) -> bool {
        self.sessions == other.sessions
            && match (&self.results, &other.results) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

impl Eq for SenderTables {}

impl SenderTables {
    /// A builder of sessions writing to `results` (srgate's one per run).
    pub fn builder(results: Arc<ProbeResults>) -> SenderTablesBuilder {
        SenderTablesBuilder {
            tables: SenderTables {
                sessions: Vec::new(),
                ports: Vec::new(),
                results: Some(results),
            },
        }
    }

    /// True if there is no session.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// The sessions.
    #[inline]
    pub fn sessions(&self) -> &[SenderSession] {
        &self.sessions
    }

    /// The results the sessions write to (`None` without sessions).
    #[inline]
    pub fn results(&self) -> Option<&Arc<ProbeResults>> {
        self.results.as_ref()
    }

    /// True if UDP destination port `port` is one of the sessions' source ports: the
    /// pipeline's only per-packet cost when sessions exist (a short scan of a few ports).
    #[inline]
    pub fn claims(&self, port: u16) -> bool {
        self.ports.contains(&port)
    }

    /// The session whose source address and port are `dst` and `port`.
    #[inline]
    pub fn session_for(&self, dst: IpAddr, port: u16) -> Option<&SenderSession> {
        self.sessions
            .iter()
            .find(|s| s.params.source_port == port && s.params.source == dst)
    }
}

/// Builds [`SenderTables`], validating every session and binding its slot.
#[derive(Debug)]
pub struct SenderTablesBuilder {
    tables: SenderTables,
}

impl SenderTablesBuilder {
    /// Adds a session: checks its values and binds its id to a slot of the results (the
    /// slot it had in an earlier snapshot of the run, or a free one).
    pub fn session(&mut self, p: SessionParams) -> Result<&mut Self, SenderError> {
        if p.source.is_ipv4() != p.reflector.is_ipv4() {
            return Err(SenderError::FamilyMismatch);
        }
        for a in [p.source, p.reflector] {
            if !is_unicast(a) {
                return Err(SenderError::NotUnicast(a));
            }
        }
        if p.source_port == 0 || p.reflector_port == 0 {
            return Err(SenderError::PortZero);
        }
        let interval_ns = u64::try_from(p.interval.as_nanos()).unwrap_or(u64::MAX);
        if interval_ns == 0 {
            return Err(SenderError::IntervalZero);
        }
        let in_intervals = |d: Duration| -> u64 {
            let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
            ns.div_ceil(interval_ns)
        };
        let lag = in_intervals(p.timeout);
        if lag == 0 || lag > u64::from(MAX_SETTLE_LAG) {
            return Err(SenderError::BadTimeout(lag));
        }
        let window = in_intervals(p.loss_window);
        if window == 0 || window > u64::from(u32::MAX) {
            return Err(SenderError::BadLossWindow(window));
        }
        if p.padding > MAX_PADDING {
            return Err(SenderError::PaddingTooLong(p.padding));
        }
        if p.ttl == 0 {
            return Err(SenderError::TtlZero);
        }
        if p.error_estimate.multiplier() == 0 {
            return Err(SenderError::ErrorMultiplierZero);
        }
        let t = &mut self.tables;
        if t.sessions.iter().any(|s| s.params.id == p.id) {
            return Err(SenderError::DuplicateId(p.id));
        }
        if t.session_for(p.source, p.source_port).is_some() {
            return Err(SenderError::DuplicateSource(p.source, p.source_port));
        }
        let results = t.results.as_ref().ok_or(SenderError::TooManySessions)?;
        let slot = results.bind(p.id).ok_or(SenderError::TooManySessions)?;
        t.sessions.push(SenderSession {
            params: p,
            slot,
            interval_ns,
            settle_lag: lag as u32,
            window: window as u32,
        });
        if !t.ports.contains(&p.source_port) {
            t.ports.push(p.source_port);
        }
        Ok(self)
    }

    /// The finished tables (no results reference when there is no session).
    pub fn build(&self) -> SenderTables {
        let mut t = self.tables.clone();
        if t.sessions.is_empty() {
            t.results = None;
        }
        t
    }
}

fn is_unicast(a: IpAddr) -> bool {
    !a.is_unspecified() && !a.is_multicast() && a != IpAddr::V4(core::net::Ipv4Addr::BROADCAST)
}

// ----------------------------------------------------------------------------------------
// Results
// ----------------------------------------------------------------------------------------

/// The words only the sending worker writes (plus the slot binding, written on the
/// control side when tables are built).
#[derive(Debug, Default)]
#[repr(align(64))]
struct SenderSide {
    /// 0: free; otherwise the bound session id + 1.
    id: AtomicU64,
    /// The next sequence number (= test packets sent, counting one being sent).
    next_seq: AtomicU64,
    /// Test packets the TX queue accepted.
    sent: AtomicU64,
    /// Test packets not sent: no mbuf, TX queue full, no TX queue.
    send_errors: AtomicU64,
    /// Sequence numbers below this one are settled (answered in time, or lost).
    settled: AtomicU64,
    /// Settled sequence numbers that were answered in time.
    settled_received: AtomicU64,
    /// The last completed loss window: sent << 32 | received (0: none yet).
    window: AtomicU64,
    /// The loss window being filled, same packing.
    partial: AtomicU64,
}

/// The words any receiving worker updates.
#[derive(Debug)]
#[repr(align(64))]
struct ReceiverSide {
    received: AtomicU64,
    late: AtomicU64,
    duplicates: AtomicU64,
    out_of_order: AtomicU64,
    rejected: AtomicU64,
    /// Highest sequence number answered + 1 (0: none).
    highest: AtomicU64,
    rtt_last: AtomicU64,
    /// u64::MAX until the first reply.
    rtt_min: AtomicU64,
    rtt_max: AtomicU64,
    rtt_sum: AtomicU64,
    /// f64 bits of the delay EWMA, in ns.
    delay: AtomicU64,
    /// f64 bits of the jitter EWMA, in ns.
    jitter: AtomicU64,
    /// f64 bits of the last one-way delay estimate, in ns ([`NO_OWD`]: none).
    last_owd: AtomicU64,
}

impl Default for ReceiverSide {
    fn default() -> Self {
        ReceiverSide {
            received: AtomicU64::new(0),
            late: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            out_of_order: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            highest: AtomicU64::new(0),
            rtt_last: AtomicU64::new(0),
            rtt_min: AtomicU64::new(u64::MAX),
            rtt_max: AtomicU64::new(0),
            rtt_sum: AtomicU64::new(0),
            delay: AtomicU64::new(0f64.to_bits()),
            jitter: AtomicU64::new(0f64.to_bits()),
            last_owd: AtomicU64::new(NO_OWD),
        }
    }
}

/// One session's results.
#[derive(Debug)]
struct Slot {
    tx: SenderSide,
    rx: ReceiverSide,
    /// Entry `k % SEQ_RING` holds `k + 1` once sequence number `k` was answered, until
    /// it is settled (then 0).
    ring: [AtomicU64; SEQ_RING],
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            tx: SenderSide::default(),
            rx: ReceiverSide::default(),
            ring: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// What became of a reply to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// Answered in time and measured.
    Measured {
        /// Its round-trip time, reflector residence excluded.
        rtt_ns: u64,
    },
    /// A second reply to the same sequence number.
    Duplicate,
    /// The reply to a packet already settled (counted lost).
    Late,
}

/// Why a test packet was not sent (all counted in `send_errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The probe pool had no mbuf (or one too small).
    NoMbuf,
    /// The TX queue did not accept it.
    TxFull,
    /// No TX queue on the adjacency's port.
    NoPort,
}

/// Shared, lock-free per-session results of the session-senders: written by the workers,
/// read by anyone ([`ProbeResults::snapshot`]). See the [module documentation](self) for
/// the figures and how loss ignores packets in flight.
pub struct ProbeResults {
    slots: Box<[Slot]>,
}

impl core::fmt::Debug for ProbeResults {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let bound = self
            .slots
            .iter()
            .filter(|s| s.tx.id.load(Relaxed) != 0)
            .count();
        f.debug_struct("ProbeResults")
            .field("slots", &self.slots.len())
            .field("bound", &bound)
            .finish()
    }
}

impl Default for ProbeResults {
    fn default() -> Self {
        Self::new()
    }
}

impl ProbeResults {
    /// [`MAX_SESSIONS`] free slots (about 530 KiB, allocated once).
    pub fn new() -> ProbeResults {
        ProbeResults {
            slots: (0..MAX_SESSIONS).map(|_| Slot::default()).collect(),
        }
    }

    /// The slot of session `id`: the one it was bound to before, else a free one (bound
    /// now); `None` when every slot belongs to another id. Slots are never unbound during
    /// a run, so a session removed and added back continues its figures. Control side.
    pub fn bind(&self, id: u32) -> Option<usize> {
        let tag = u64::from(id) + 1;
        if let Some(i) = self.slot_of(id) {
            return Some(i);
        }
        for (i, s) in self.slots.iter().enumerate() {
            match s.tx.id.compare_exchange(0, tag, Relaxed, Relaxed) {
                Ok(_) => return Some(i),
                Err(t) if t == tag => return Some(i),
                Err(_) => {}
            }
        }
        None
    }

    /// The slot bound to session `id`.
    pub fn slot_of(&self, id: u32) -> Option<usize> {
        let tag = u64::from(id) + 1;
        self.slots.iter().position(|s| s.tx.id.load(Relaxed) == tag)
    }

    /// The figures of session `id`, if it is bound.
    pub fn session(&self, id: u32) -> Option<SessionSnapshot> {
        self.slot_of(id)
            .and_then(|i| self.slots.get(i))
            .map(|s| s.snapshot(id))
    }

    /// The figures of every bound session, by id.
    pub fn snapshot(&self) -> Vec<SessionSnapshot> {
        let mut v: Vec<SessionSnapshot> = self
            .slots
            .iter()
            .filter_map(|s| {
                let tag = s.tx.id.load(Relaxed);
                (tag != 0).then(|| s.snapshot((tag - 1) as u32))
            })
            .collect();
        v.sort_by_key(|s| s.id);
        v
    }

    /// Sender side: settles what is due, then reserves the next sequence number (the
    /// caller sends it, then reports with [`ProbeResults::sent`]).
    #[inline]
    fn begin_send(&self, slot: usize, settle_lag: u32, window: u32) -> Option<u64> {
        let s = self.slots.get(slot)?;
        let next = s.tx.next_seq.load(Relaxed);
        s.settle(next.saturating_sub(u64::from(settle_lag)), window);
        // Published before the packet leaves, so a reply can never precede it.
        s.tx.next_seq.store(next + 1, Relaxed);
        Some(next)
    }

    /// Sender side: the test packet `seq` left (`Ok`) or was not sent (its sequence
    /// number is taken back).
    #[inline]
    fn sent(&self, slot: usize, seq: u64, result: Result<(), SendError>) {
        let Some(s) = self.slots.get(slot) else {
            return;
        };
        match result {
            Ok(()) => bump(&s.tx.sent, 1),
            Err(_) => {
                s.tx.next_seq.store(seq, Relaxed);
                bump(&s.tx.send_errors, 1);
            }
        }
    }

    /// Receive side: a reply to sequence number `seq32` (as on the wire) measured at
    /// `rtt_ns`. `Err` if the session never sent that number.
    pub(crate) fn reply(
        &self,
        slot: usize,
        seq32: u32,
        rtt_ns: u64,
    ) -> Result<ReplyOutcome, DropReason> {
        let Some(s) = self.slots.get(slot) else {
            return Err(DropReason::StampReplyUnknownSeq);
        };
        let next = s.tx.next_seq.load(Relaxed);
        let back = u64::from((next as u32).wrapping_sub(seq32));
        if back == 0 || back > next {
            s.rx.rejected.fetch_add(1, Relaxed);
            return Err(DropReason::StampReplyUnknownSeq);
        }
        let k = next - back;
        if k < s.tx.settled.load(Relaxed) {
            s.rx.late.fetch_add(1, Relaxed);
            return Ok(ReplyOutcome::Late);
        }
        let Some(entry) = s.ring.get((k % SEQ_RING as u64) as usize) else {
            return Err(DropReason::StampReplyUnknownSeq);
        };
        if entry.swap(k + 1, Relaxed) == k + 1 {
            s.rx.duplicates.fetch_add(1, Relaxed);
            return Ok(ReplyOutcome::Duplicate);
        }
        let r = &s.rx;
        let first = r.received.fetch_add(1, Relaxed) == 0;
        if r.highest.fetch_max(k + 1, Relaxed) > k + 1 {
            r.out_of_order.fetch_add(1, Relaxed);
        }
        r.rtt_last.store(rtt_ns, Relaxed);
        r.rtt_min.fetch_min(rtt_ns, Relaxed);
        r.rtt_max.fetch_max(rtt_ns, Relaxed);
        r.rtt_sum.fetch_add(rtt_ns, Relaxed);
        let owd = rtt_ns as f64 / 2.0;
        ewma(&r.delay, owd, DELAY_GAIN, first);
        let prev = r.last_owd.swap(owd.to_bits(), Relaxed);
        if prev != NO_OWD {
            ewma(
                &r.jitter,
                (owd - f64::from_bits(prev)).abs(),
                JITTER_GAIN,
                false,
            );
        }
        Ok(ReplyOutcome::Measured { rtt_ns })
    }

    /// Receive side: a reply to the session dropped as malformed.
    #[inline]
    fn rejected(&self, slot: usize) {
        if let Some(s) = self.slots.get(slot) {
            s.rx.rejected.fetch_add(1, Relaxed);
        }
    }
}

/// `counter += n` by its single writer (plain load and store, as [`crate::counters`]).
#[inline]
fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

/// `e += (x - e) × gain` on f64 bits (`e = x` when `first`); lock-free.
#[inline]
fn ewma(word: &AtomicU64, x: f64, gain: f64, first: bool) {
    let _ = word.fetch_update(Relaxed, Relaxed, |bits| {
        let e = f64::from_bits(bits);
        Some(if first { x } else { e + (x - e) * gain }.to_bits())
    });
}

#[inline]
const fn pack(sent: u64, received: u64) -> u64 {
    (sent << 32) | (received & 0xffff_ffff)
}

#[inline]
const fn unpack(w: u64) -> (u32, u32) {
    ((w >> 32) as u32, w as u32)
}

impl Slot {
    /// Settles every sequence number below `target` (sender side only).
    #[inline]
    fn settle(&self, target: u64, window: u32) {
        let tx = &self.tx;
        let mut at = tx.settled.load(Relaxed);
        if at >= target {
            return;
        }
        // Never more than the ring holds (only after a configuration change).
        if target - at > SEQ_RING as u64 {
            at = target - SEQ_RING as u64;
        }
        let (mut w_sent, mut w_recv) = {
            let (s, r) = unpack(tx.partial.load(Relaxed));
            (u64::from(s), u64::from(r))
        };
        let mut answered = 0;
        while at < target {
            let got = self
                .ring
                .get((at % SEQ_RING as u64) as usize)
                .is_some_and(|e| e.swap(0, Relaxed) == at + 1);
            answered += u64::from(got);
            w_sent += 1;
            w_recv += u64::from(got);
            if w_sent >= u64::from(window) {
                tx.window.store(pack(w_sent, w_recv), Relaxed);
                (w_sent, w_recv) = (0, 0);
            }
            at += 1;
        }
        tx.partial.store(pack(w_sent, w_recv), Relaxed);
        bump(&tx.settled_received, answered);
        tx.settled.store(at, Relaxed);
    }

    fn snapshot(&self, id: u32) -> SessionSnapshot {
        let (tx, rx) = (&self.tx, &self.rx);
        let received = rx.received.load(Relaxed);
        let rtt_sum = rx.rtt_sum.load(Relaxed);
        let rtt_min = rx.rtt_min.load(Relaxed);
        let (window_sent, window_received) = match unpack(tx.window.load(Relaxed)) {
            (0, _) => unpack(tx.partial.load(Relaxed)),
            w => w,
        };
        SessionSnapshot {
            id,
            sent: tx.sent.load(Relaxed),
            send_errors: tx.send_errors.load(Relaxed),
            received,
            late: rx.late.load(Relaxed),
            duplicates: rx.duplicates.load(Relaxed),
            out_of_order: rx.out_of_order.load(Relaxed),
            rejected: rx.rejected.load(Relaxed),
            rtt_last_ns: rx.rtt_last.load(Relaxed),
            rtt_min_ns: if rtt_min == u64::MAX { 0 } else { rtt_min },
            rtt_max_ns: rx.rtt_max.load(Relaxed),
            rtt_mean_ns: rtt_sum.checked_div(received).unwrap_or(0),
            delay_us: f64::from_bits(rx.delay.load(Relaxed)) / 1e3,
            jitter_us: f64::from_bits(rx.jitter.load(Relaxed)) / 1e3,
            settled_sent: tx.settled.load(Relaxed),
            settled_received: tx.settled_received.load(Relaxed),
            window_sent,
            window_received,
            loss_ppm: loss_ppm(u64::from(window_sent), u64::from(window_received)),
        }
    }
}

/// Lost parts per million of `sent` (0 when nothing was sent).
fn loss_ppm(sent: u64, received: u64) -> u32 {
    if sent == 0 {
        return 0;
    }
    let lost = sent.saturating_sub(received);
    (u128::from(lost) * 1_000_000 / u128::from(sent)) as u32
}

/// One session's figures, as [`ProbeResults::snapshot`] read them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSnapshot {
    /// Session id.
    pub id: u32,
    /// Test packets sent (accepted by the TX queue).
    pub sent: u64,
    /// Test packets not sent (no mbuf, TX queue full).
    pub send_errors: u64,
    /// Replies answered in time, each sequence number once.
    pub received: u64,
    /// Replies to packets already counted lost (after `timeout`).
    pub late: u64,
    /// Second and later replies to one sequence number.
    pub duplicates: u64,
    /// Replies below the highest sequence number answered before them.
    pub out_of_order: u64,
    /// Packets to the session's address and port dropped as malformed or unknown.
    pub rejected: u64,
    /// Round-trip time of the last measured reply, reflector residence excluded.
    pub rtt_last_ns: u64,
    /// Smallest round-trip time (0 before the first reply).
    pub rtt_min_ns: u64,
    /// Largest round-trip time.
    pub rtt_max_ns: u64,
    /// Mean round-trip time.
    pub rtt_mean_ns: u64,
    /// EWMA (gain 1/8) of the one-way delay estimate RTT / 2, in microseconds.
    pub delay_us: f64,
    /// RFC 3550 jitter (gain 1/16) of the one-way delay estimates, in microseconds.
    pub jitter_us: f64,
    /// Test packets settled: sent more than `timeout` ago (answered or lost).
    pub settled_sent: u64,
    /// Settled test packets answered in time.
    pub settled_received: u64,
    /// Settled packets of the last loss window (or of the first, until it completes).
    pub window_sent: u32,
    /// Those answered in time.
    pub window_received: u32,
    /// Loss over that window, in parts per million.
    pub loss_ppm: u32,
}

impl SessionSnapshot {
    /// Loss in parts per million over the packets settled between `earlier` (a snapshot
    /// of the same session) and `self`; `None` if none was settled in between.
    pub fn loss_ppm_since(&self, earlier: &SessionSnapshot) -> Option<u32> {
        let sent = self.settled_sent.checked_sub(earlier.settled_sent)?;
        let received = self
            .settled_received
            .saturating_sub(earlier.settled_received);
        (sent > 0).then(|| loss_ppm(sent, received))
    }
}

// ----------------------------------------------------------------------------------------
// Sending
// ----------------------------------------------------------------------------------------

/// The sending worker's schedule: the next due TSC of each session slot. Lives in the
/// worker (across table snapshots); never allocates.
#[derive(Debug, Clone)]
pub struct ProbeScheduler {
    next_due: [u64; MAX_SESSIONS],
    next_poll: u64,
    poll_ticks: u64,
    hz: u64,
}

impl ProbeScheduler {
    /// How often the worker looks at the sessions at most.
    pub const POLL_EVERY: Duration = Duration::from_micros(10);

    /// A schedule for a TSC of `tsc_hz`; every session is due at once.
    pub fn new(tsc_hz: u64) -> ProbeScheduler {
        let hz = tsc_hz.max(1);
        ProbeScheduler {
            next_due: [0; MAX_SESSIONS],
            next_poll: 0,
            poll_ticks: ticks(hz, Self::POLL_EVERY.as_nanos() as u64).max(1),
            hz,
        }
    }

    /// True if [`ProbeScheduler::poll`] has something to look at (a compare: call it
    /// every loop).
    #[inline]
    pub fn due(&self, now: u64) -> bool {
        now >= self.next_poll
    }

    /// Sends what is due at TSC `now`: for each due session, settles its old packets,
    /// takes the next sequence number and calls `send(session, seq)`, which must write
    /// the packet ([`SenderSession::emit`]) and put it on the session's TX queue without
    /// blocking. The next packet is due one interval after this one was due (or after
    /// `now` if the worker fell more than an interval behind: no bursts to catch up).
    /// Returns how many packets left.
    pub fn poll<F>(&mut self, tables: &SenderTables, now: u64, mut send: F) -> usize
    where
        F: FnMut(&SenderSession, u32) -> Result<(), SendError>,
    {
        self.next_poll = now.saturating_add(self.poll_ticks);
        let Some(results) = tables.results() else {
            return 0;
        };
        let mut sent = 0;
        for s in tables.sessions() {
            let Some(due) = self.next_due.get_mut(s.slot) else {
                continue;
            };
            if now < *due {
                continue;
            }
            let Some(seq) = results.begin_send(s.slot, s.settle_lag, s.window) else {
                continue;
            };
            let r = send(s, seq as u32);
            sent += usize::from(r.is_ok());
            results.sent(s.slot, seq, r);
            let interval = ticks(self.hz, s.interval_ns).max(1);
            *due = if *due == 0 || now - *due >= interval {
                now.saturating_add(interval)
            } else {
                *due + interval
            };
        }
        sent
    }
}

/// TSC ticks in `ns` nanoseconds at `hz`.
#[inline]
fn ticks(hz: u64, ns: u64) -> u64 {
    u64::try_from(u128::from(hz) * u128::from(ns) / 1_000_000_000).unwrap_or(u64::MAX)
}

// ----------------------------------------------------------------------------------------
// Receiving
// ----------------------------------------------------------------------------------------

/// `RTT = (T4 - T1) - (T3 - T2)` in nanoseconds (0 if negative).
#[inline]
pub fn round_trip_ns(
    t1: NtpTimestamp,
    t2: NtpTimestamp,
    t3: NtpTimestamp,
    t4: NtpTimestamp,
) -> u64 {
    let units = i128::from(t4.diff(t1)) - i128::from(t3.diff(t2));
    if units <= 0 {
        0
    } else {
        u64::try_from((units * 1_000_000_000) >> 32).unwrap_or(u64::MAX)
    }
}

/// Handles a frame that may be a reply to one of `t`'s sessions, received at `t4`.
///
/// `Ok(None)`: not addressed to a session's source address and port (the frame is
/// untouched; the other handlers take it). `Ok(Some(_))`: a reply, measured into the
/// results: consume it. `Err`: addressed to a session but malformed, from another peer,
/// or for a sequence number never sent: drop it (also counted as `rejected` in the
/// session's results). Reads the frame only; never panics, never allocates.
pub fn receive(
    t: &SenderTables,
    frame: &[u8],
    meta: &PacketMeta,
    t4: NtpTimestamp,
) -> Result<Option<ReplyOutcome>, DropReason> {
    if t.is_empty() || !meta.is_udp() || !t.claims(meta.dst_port) {
        return Ok(None);
    }
    let (dst, src) = match meta.l3 {
        L3Kind::Ipv4 => {
            let Some(ip) = meta.ipv4(frame) else {
                return Ok(None);
            };
            (IpAddr::V4(ip.dst_addr()), IpAddr::V4(ip.src_addr()))
        }
        L3Kind::Ipv6 => {
            if meta.srh(frame).is_some_and(|s| s.segments_left() != 0) {
                // Not at its last segment yet: SRv6 forwarding's business.
                return Ok(None);
            }
            let Some(ip) = meta.ipv6(frame) else {
                return Ok(None);
            };
            (IpAddr::V6(ip.dst_addr()), IpAddr::V6(ip.src_addr()))
        }
        L3Kind::Mpls => return Ok(None),
    };
    let Some(s) = t.session_for(dst, meta.dst_port) else {
        return Ok(None);
    };
    let Some(results) = t.results() else {
        return Ok(None);
    };
    let checked = check_reply(s, frame, meta, src, dst);
    let repr = match checked {
        Ok(r) => r,
        Err(reason) => {
            results.rejected(s.slot);
            return Err(reason);
        }
    };
    let rtt = round_trip_ns(repr.sender.timestamp, repr.rx_timestamp, repr.timestamp, t4);
    results.reply(s.slot, repr.sender.seq, rtt).map(Some)
}

/// Validates a packet to session `s`'s address and port and reads its reflector packet.
fn check_reply(
    s: &SenderSession,
    frame: &[u8],
    meta: &PacketMeta,
    src: IpAddr,
    dst: IpAddr,
) -> Result<ReflectorRepr, DropReason> {
    if meta.is_fragment() {
        return Err(DropReason::StampReplyFragment);
    }
    if src != s.params.reflector || meta.src_port != s.params.reflector_port {
        return Err(DropReason::StampReplyWrongPeer);
    }
    let buf = frame
        .get(usize::from(meta.l4_offset)..usize::from(meta.l3_end))
        .ok_or(DropReason::UdpTruncated)?;
    let dgram = udp::Packet::new_checked(buf)?;
    if !dgram.verify_checksum(&src, &dst) {
        return Err(DropReason::StampReplyBadChecksum);
    }
    let p = ReflectorPacket::new_checked(dgram.payload())
        .map_err(|_| DropReason::StampReplyTooShort)?;
    ReflectorRepr::parse(&p).map_err(|_| DropReason::StampReplyTooShort)
}

#[cfg(test)]
mod tests;
