//! Session-sender tests: packet emission parsed back with the wire views, the round trip
//! through the reflector and the pipeline, RTT math with a fake TSC, reordering,
//! duplicates, late and unknown replies, malformed replies, scheduling, loss windows.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::time::Duration;
use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::buf::{PacketBuf, VecBuf};
use crate::clock::TscClock;
use crate::counters::{Handler, WorkerCounters};
use crate::packet::parse;
use crate::pipeline::{Action, Pipeline, WorkerCtx};
use crate::stamp::tables::StampTables;
use crate::stamp::wire::{ReflectorPacket, ReflectorRepr, SenderPacket, REFLECTOR_LEN};
use crate::stamp::{reflect, StampOutcome};
use crate::wire::{ethernet, ipv4, ipv6, udp};

const MAC_S: [u8; 6] = [0x02, 0, 0, 0, 0, 0x51]; // the sender's port
const MAC_R: [u8; 6] = [0x02, 0, 0, 0, 0, 0x52]; // the reflector's port
const PORT: u16 = 1;
const SPORT: u16 = 40_862;
const HZ: u64 = 1_000_000_000; // fake TSC: one tick per nanosecond

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse::<Ipv4Addr>().unwrap())
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
}

fn adj() -> Adjacency {
    Adjacency {
        port: PORT,
        dst_mac: MAC_R,
        src_mac: MAC_S,
    }
}

fn params(id: u32, source: IpAddr, reflector: IpAddr) -> SessionParams {
    SessionParams::new(id, adj(), source, SPORT, reflector)
}

/// A fast session: 1 ms interval, 3 ms timeout, 4 ms loss window.
fn fast(id: u32, source: IpAddr, reflector: IpAddr) -> SessionParams {
    SessionParams {
        interval: Duration::from_millis(1),
        timeout: Duration::from_millis(3),
        loss_window: Duration::from_millis(4),
        ..params(id, source, reflector)
    }
}

fn tables_of(results: &Arc<ProbeResults>, sessions: &[SessionParams]) -> SenderTables {
    let mut b = SenderTables::builder(Arc::clone(results));
    for p in sessions {
        b.session(*p).unwrap();
    }
    b.build()
}

/// 2024-04-03T02:16:32Z, and a clock reading it at TSC 0, one tick per ns.
fn clock() -> TscClock {
    TscClock::with_anchor(Duration::from_secs(1_712_110_592), 0, HZ)
}

fn emit(s: &SenderSession, seq: u32, t1: NtpTimestamp) -> Vec<u8> {
    let mut buf = vec![0xa5u8; s.frame_len() + 7];
    assert_eq!(s.emit(&mut buf, seq, t1), Some(s.frame_len()));
    buf.truncate(s.frame_len());
    buf
}

/// Parses a test packet back: (IP source, IP destination, TTL, UDP repr, STAMP fields);
/// checks every checksum and that the MBZ and padding bytes are zero.
fn parse_probe(frame: &[u8]) -> (IpAddr, IpAddr, u8, udp::Repr, SenderRepr) {
    let meta = parse(frame).expect("parses");
    assert!(meta.is_udp());
    let eth = ethernet::Frame::new_checked(frame).unwrap();
    let eth = ethernet::Repr::parse(&eth).unwrap();
    assert_eq!(eth.dst_addr.0, MAC_R);
    assert_eq!(eth.src_addr.0, MAC_S);
    let l3 = &frame[usize::from(meta.l3_offset)..];
    let (src, dst, ttl) = if eth.ethertype == ethernet::EtherType::IPV4 {
        let ip = ipv4::Packet::new_checked(l3).unwrap();
        let r = ipv4::Repr::parse(&ip).expect("IPv4 header and checksum valid");
        assert!(r.dont_frag);
        assert_eq!(r.protocol, IpProtocol::UDP);
        assert_eq!(r.payload_len + 20, l3.len());
        (IpAddr::V4(r.src_addr), IpAddr::V4(r.dst_addr), r.ttl)
    } else {
        assert_eq!(eth.ethertype, ethernet::EtherType::IPV6);
        let ip = ipv6::Packet::new_checked(l3).unwrap();
        let r = ipv6::Repr::parse(&ip).unwrap();
        assert_eq!(r.next_header, IpProtocol::UDP);
        assert_eq!((r.traffic_class, r.flow_label), (0, 0));
        assert_eq!(r.payload_len + 40, l3.len());
        (IpAddr::V6(r.src_addr), IpAddr::V6(r.dst_addr), r.hop_limit)
    };
    let u = udp::Packet::new_checked(&frame[usize::from(meta.l4_offset)..]).unwrap();
    assert_ne!(u.checksum(), 0, "a UDP checksum is always computed");
    assert!(u.verify_checksum(&src, &dst), "UDP checksum verifies");
    let ur = udp::Repr::parse(&u).unwrap();
    let payload = u.payload();
    let sp = SenderPacket::new_checked(payload).unwrap();
    assert_eq!(sp.mbz(), &[0u8; 30]);
    assert!(payload[44..].iter().all(|b| *b == 0), "padding is zeros");
    (src, dst, ttl, ur, SenderRepr::parse(&sp).unwrap())
}

#[test]
fn ipv4_test_packet_parses_back() {
    let results = Arc::new(ProbeResults::new());
    let mut p = params(1, v4("10.0.0.1"), v4("10.0.0.2"));
    p.padding = 20;
    p.ttl = 64;
    p.error_estimate = ErrorEstimate::new(true, 22, 3);
    let t = tables_of(&results, &[p]);
    let s = &t.sessions()[0];
    assert_eq!(s.frame_len(), 14 + 20 + 8 + 44 + 20);
    let t1 = NtpTimestamp::from_parts(0xe9b7_3a80, 0x8000_0000);
    let f = emit(s, 0x0102_0304, t1);
    let (src, dst, ttl, u, st) = parse_probe(&f);
    assert_eq!((src, dst, ttl), (v4("10.0.0.1"), v4("10.0.0.2"), 64));
    assert_eq!((u.src_port, u.dst_port, u.payload_len), (SPORT, 862, 64));
    assert_eq!(
        st,
        SenderRepr {
            seq: 0x0102_0304,
            timestamp: t1,
            error_estimate: ErrorEstimate::new(true, 22, 3),
        }
    );
    // Identification: the low bits of the sequence number.
    assert_eq!(&f[18..20], &[0x03, 0x04]);
    // The IPv4 header checksum, recomputed over the header, is 0.
    assert_eq!(crate::wire::checksum::checksum(&f[14..34]), 0);
}

#[test]
fn ipv6_test_packet_parses_back() {
    let results = Arc::new(ProbeResults::new());
    let mut p = params(2, v6("fd00::1"), v6("fd00::2"));
    p.reflector_port = 4000;
    let t = tables_of(&results, &[p]);
    let s = &t.sessions()[0];
    assert_eq!(s.frame_len(), 14 + 40 + 8 + 44);
    let t1 = NtpTimestamp(0x1122_3344_5566_7788);
    let f = emit(s, 9, t1);
    let (src, dst, hlim, u, st) = parse_probe(&f);
    assert_eq!((src, dst, hlim), (v6("fd00::1"), v6("fd00::2"), 255));
    assert_eq!((u.src_port, u.dst_port, u.payload_len), (SPORT, 4000, 44));
    assert_eq!((st.seq, st.timestamp), (9, t1));
    assert_eq!(st.error_estimate, DEFAULT_ERROR_ESTIMATE);
}

#[test]
fn emit_refuses_a_short_buffer() {
    let results = Arc::new(ProbeResults::new());
    let t = tables_of(&results, &[params(1, v4("10.0.0.1"), v4("10.0.0.2"))]);
    let s = &t.sessions()[0];
    let mut short = vec![0u8; s.frame_len() - 1];
    assert_eq!(s.emit(&mut short, 0, NtpTimestamp(0)), None);
}

#[test]
fn builder_validates_and_binds_slots() {
    let results = Arc::new(ProbeResults::new());
    let mut b = SenderTables::builder(Arc::clone(&results));
    let ok = params(7, v4("10.0.0.1"), v4("10.0.0.2"));
    let bad = |f: &dyn Fn(&mut SessionParams)| {
        let mut p = ok;
        f(&mut p);
        SenderTables::builder(Arc::new(ProbeResults::new()))
            .session(p)
            .err()
    };
    assert_eq!(
        bad(&|p| p.reflector = v6("fd00::2")),
        Some(SenderError::FamilyMismatch)
    );
    assert_eq!(
        bad(&|p| p.source = v4("0.0.0.0")),
        Some(SenderError::NotUnicast(v4("0.0.0.0")))
    );
    assert_eq!(
        bad(&|p| p.reflector = v4("224.0.0.1")),
        Some(SenderError::NotUnicast(v4("224.0.0.1")))
    );
    assert_eq!(bad(&|p| p.source_port = 0), Some(SenderError::PortZero));
    assert_eq!(bad(&|p| p.reflector_port = 0), Some(SenderError::PortZero));
    assert_eq!(
        bad(&|p| p.interval = Duration::ZERO),
        Some(SenderError::IntervalZero)
    );
    assert_eq!(
        bad(&|p| p.timeout = Duration::ZERO),
        Some(SenderError::BadTimeout(0))
    );
    // 1024 intervals of 100 ms in flight: more than the ring holds.
    assert_eq!(
        bad(&|p| p.timeout = Duration::from_millis(102_400)),
        Some(SenderError::BadTimeout(1024))
    );
    assert_eq!(
        bad(&|p| p.loss_window = Duration::ZERO),
        Some(SenderError::BadLossWindow(0))
    );
    assert_eq!(
        bad(&|p| p.padding = 1401),
        Some(SenderError::PaddingTooLong(1401))
    );
    assert_eq!(bad(&|p| p.ttl = 0), Some(SenderError::TtlZero));
    assert_eq!(
        bad(&|p| p.error_estimate = ErrorEstimate::new(false, 1, 0)),
        Some(SenderError::ErrorMultiplierZero)
    );

    b.session(ok).unwrap();
    assert_eq!(
        b.session(SessionParams {
            source_port: 1,
            ..ok
        })
        .err(),
        Some(SenderError::DuplicateId(7))
    );
    assert_eq!(
        b.session(SessionParams { id: 8, ..ok }).err(),
        Some(SenderError::DuplicateSource(v4("10.0.0.1"), SPORT))
    );
    // Same port, other source: fine (two addresses of this node).
    b.session(SessionParams {
        id: 8,
        source: v4("10.0.0.9"),
        ..ok
    })
    .unwrap();
    let t = b.build();
    assert_eq!(t.sessions().len(), 2);
    assert_eq!(t.sessions()[0].slot(), 0);
    assert_eq!(t.sessions()[1].slot(), 1);
    assert_eq!(t.sessions()[0].settle_lag(), 10); // 1 s / 100 ms
    assert_eq!(t.sessions()[0].window(), 100); // 10 s / 100 ms
    assert!(t.claims(SPORT) && !t.claims(862));
    assert!(t.session_for(v4("10.0.0.9"), SPORT).is_some());
    assert!(t.session_for(v4("10.0.0.3"), SPORT).is_none());

    // Rebuilt tables (a table replacement) find the same slots by id.
    let mut b = SenderTables::builder(Arc::clone(&results));
    b.session(SessionParams {
        id: 8,
        source: v4("10.0.0.9"),
        ..ok
    })
    .unwrap();
    assert_eq!(b.build().sessions()[0].slot(), 1);
    assert_eq!(results.slot_of(7), Some(0));

    // An empty builder keeps no results.
    let empty = SenderTables::builder(Arc::clone(&results)).build();
    assert!(empty.is_empty() && empty.results().is_none());
    assert_eq!(empty, SenderTables::default());
}

#[test]
fn slots_run_out_after_64_ids() {
    let r = ProbeResults::new();
    for id in 0..MAX_SESSIONS as u32 {
        assert_eq!(r.bind(id * 10), Some(id as usize));
    }
    assert_eq!(r.bind(5), None);
    assert_eq!(r.bind(630), Some(63), "a bound id keeps its slot");
    assert_eq!(r.snapshot().len(), MAX_SESSIONS);
    assert!(format!("{r:?}").contains("bound: 64"));
}

/// A sending loop over a fake TSC: polls at `now`, records the sequence numbers sent.
fn poll(sched: &mut ProbeScheduler, t: &SenderTables, now: u64, log: &mut Vec<(u32, u32)>) {
    sched.poll(t, now, |s, seq| {
        log.push((s.id(), seq));
        Ok(())
    });
}

#[test]
fn scheduler_sends_on_time_and_never_bursts() {
    let results = Arc::new(ProbeResults::new());
    let mut slow = fast(2, v4("10.0.0.1"), v4("10.0.0.3"));
    slow.source_port = SPORT + 1;
    slow.interval = Duration::from_millis(2);
    let t = tables_of(&results, &[fast(1, v4("10.0.0.1"), v4("10.0.0.2")), slow]);
    let mut s = ProbeScheduler::new(HZ);
    let mut log = Vec::new();
    assert!(s.due(0));
    poll(&mut s, &t, 0, &mut log);
    assert_eq!(log, [(1, 0), (2, 0)]);
    assert!(!s.due(5_000), "at most every 10 us");
    assert!(s.due(10_000));
    poll(&mut s, &t, 999_999, &mut log);
    assert_eq!(log.len(), 2, "not due before 1 ms");
    poll(&mut s, &t, 1_000_100, &mut log);
    assert_eq!(&log[2..], [(1, 1)]);
    poll(&mut s, &t, 2_000_000, &mut log);
    assert_eq!(&log[3..], [(1, 2), (2, 1)]);
    // 10 ms of silence (an idle sleep, a stall): one packet each, no catching up.
    poll(&mut s, &t, 12_500_000, &mut log);
    assert_eq!(&log[5..], [(1, 3), (2, 2)]);
    poll(&mut s, &t, 13_000_000, &mut log);
    assert_eq!(
        log.len(),
        7,
        "due again 1 ms after the late send, not on the old grid"
    );
    poll(&mut s, &t, 13_500_000, &mut log);
    assert_eq!(&log[7..], [(1, 4)]);
    let snap = results.snapshot();
    assert_eq!((snap[0].id, snap[0].sent), (1, 5));
    assert_eq!((snap[1].id, snap[1].sent), (2, 3));
}

#[test]
fn a_failed_send_is_counted_and_its_sequence_number_reused() {
    let results = Arc::new(ProbeResults::new());
    let t = tables_of(&results, &[fast(1, v4("10.0.0.1"), v4("10.0.0.2"))]);
    let mut s = ProbeScheduler::new(HZ);
    let mut seqs = Vec::new();
    for (i, r) in [
        Ok(()),
        Err(SendError::NoMbuf),
        Err(SendError::TxFull),
        Ok(()),
    ]
    .into_iter()
    .enumerate()
    {
        s.poll(&t, i as u64 * 1_000_000, |_, seq| {
            seqs.push(seq);
            r
        });
    }
    assert_eq!(seqs, [0, 1, 1, 1]);
    let snap = results.session(1).unwrap();
    assert_eq!((snap.sent, snap.send_errors), (2, 2));
}

#[test]
fn round_trip_math() {
    let c = clock();
    let (t1, t2, t3, t4) = (
        c.ntp_at(0),
        c.ntp_at(1_000),
        c.ntp_at(1_500),
        c.ntp_at(5_000),
    );
    let rtt = round_trip_ns(t1, t2, t3, t4);
    assert!((4_499..=4_500).contains(&rtt), "{rtt}");
    // Exact in NTP units: 1.5 s round trip, 0.25 s in the reflector.
    let base = NtpTimestamp::from_parts(100, 0);
    let at = |s: u32, f: u32| NtpTimestamp(base.0 + ((u64::from(s) << 32) | u64::from(f)));
    assert_eq!(
        round_trip_ns(base, at(0, 1 << 30), at(0, 1 << 31), at(1, 1 << 31)),
        1_250_000_000
    );
    // Reflector time longer than the whole round trip: 0, never a wrap.
    assert_eq!(round_trip_ns(base, at(0, 0), at(2, 0), at(1, 0)), 0);
    // Across the NTP era boundary.
    let end = NtpTimestamp::from_parts(u32::MAX, 0);
    let next = NtpTimestamp::from_parts(0, 1 << 31);
    assert_eq!(round_trip_ns(end, end, end, next), 1_500_000_000);
}

/// Sends `n` probes of session 1 at 1 ms intervals; returns the scheduler.
fn send_n(t: &SenderTables, n: u64) -> ProbeScheduler {
    let mut s = ProbeScheduler::new(HZ);
    for i in 0..n {
        s.poll(t, i * 1_000_000, |_, _| Ok(()));
    }
    s
}

#[test]
fn replies_reordering_duplicates_late_and_unknown() {
    let results = Arc::new(ProbeResults::new());
    let t = tables_of(&results, &[fast(1, v4("10.0.0.1"), v4("10.0.0.2"))]);
    let slot = t.sessions()[0].slot();
    let mut sched = send_n(&t, 3); // seq 0, 1, 2 in flight
    let r = |seq: u32, rtt: u64| results.reply(slot, seq, rtt);
    assert_eq!(r(1, 100), Ok(ReplyOutcome::Measured { rtt_ns: 100 }));
    assert_eq!(r(0, 300), Ok(ReplyOutcome::Measured { rtt_ns: 300 }));
    assert_eq!(r(1, 100), Ok(ReplyOutcome::Duplicate));
    assert_eq!(r(3, 100), Err(DropReason::StampReplyUnknownSeq));
    assert_eq!(r(u32::MAX, 100), Err(DropReason::StampReplyUnknownSeq));
    let s = results.session(1).unwrap();
    assert_eq!(
        (s.sent, s.received, s.duplicates, s.out_of_order, s.rejected),
        (3, 2, 1, 1, 2)
    );
    assert_eq!((s.rtt_last_ns, s.rtt_min_ns, s.rtt_max_ns), (300, 100, 300));
    assert_eq!(s.rtt_mean_ns, 200);
    // Nothing settled yet: no loss figure, whatever is in flight.
    assert_eq!((s.settled_sent, s.window_sent, s.loss_ppm), (0, 0, 0));

    // Sending seq 3..=5 settles 0..=2 (timeout: 3 intervals): 0 and 1 answered, 2 lost.
    for i in 3..6 {
        sched.poll(&t, i * 1_000_000, |_, _| Ok(()));
    }
    let s = results.session(1).unwrap();
    assert_eq!((s.settled_sent, s.settled_received), (2, 2));
    sched.poll(&t, 6_000_000, |_, _| Ok(()));
    let s = results.session(1).unwrap();
    assert_eq!((s.settled_sent, s.settled_received), (3, 2));
    assert_eq!((s.window_sent, s.window_received), (3, 2));
    assert_eq!(s.loss_ppm, 333_333, "first window, still filling");
    // A reply to 2 now is late (lost), a reply to 4 in time.
    assert_eq!(r(2, 50), Ok(ReplyOutcome::Late));
    assert_eq!(r(4, 50), Ok(ReplyOutcome::Measured { rtt_ns: 50 }));
    // The duplicate of a settled packet is late too, never measured again.
    assert_eq!(r(0, 50), Ok(ReplyOutcome::Late));
    let s = results.session(1).unwrap();
    assert_eq!((s.late, s.received, s.out_of_order), (2, 3, 1));
}

#[test]
fn loss_windows_and_differences() {
    let results = Arc::new(ProbeResults::new());
    // Window of 4 settled packets; answer every packet but 1 and 6.
    let t = tables_of(&results, &[fast(1, v4("10.0.0.1"), v4("10.0.0.2"))]);
    let slot = t.sessions()[0].slot();
    let mut sched = ProbeScheduler::new(HZ);
    let mut before = None;
    for i in 0..12u64 {
        sched.poll(&t, i * 1_000_000, |_, _| Ok(()));
        if i != 1 && i != 6 {
            results.reply(slot, i as u32, 1_000).unwrap();
        }
        if i == 6 {
            before = results.session(1);
        }
    }
    // Sent 0..=11, settled 0..=7 (three in flight): windows [0..4) lost 1, [4..8) lost 6.
    let s = results.session(1).unwrap();
    assert_eq!((s.sent, s.settled_sent, s.settled_received), (12, 8, 6));
    assert_eq!(
        (s.window_sent, s.window_received, s.loss_ppm),
        (4, 3, 250_000)
    );
    let before = before.unwrap(); // settled 0..=2 then, 1 lost
    assert_eq!((before.settled_sent, before.settled_received), (3, 2));
    assert_eq!(s.loss_ppm_since(&before), Some(200_000)); // 3..=7: 6 lost of 5
    assert_eq!(s.loss_ppm_since(&s), None);
}

#[test]
fn delay_and_jitter_ewma() {
    let results = Arc::new(ProbeResults::new());
    let t = tables_of(&results, &[fast(1, v4("10.0.0.1"), v4("10.0.0.2"))]);
    let slot = t.sessions()[0].slot();
    send_n(&t, 3);
    for (seq, rtt) in [(0, 100), (1, 300), (2, 100)] {
        results.reply(slot, seq, rtt).unwrap();
    }
    // One-way estimates 50, 150, 50 ns.
    let s = results.session(1).unwrap();
    let delay_ns = 50.0 + (150.0 - 50.0) / 8.0;
    let delay_ns = delay_ns + (50.0 - delay_ns) / 8.0;
    let jitter_ns = 100.0 / 16.0;
    let jitter_ns = jitter_ns + (100.0 - jitter_ns) / 16.0;
    assert!((s.delay_us - delay_ns / 1e3).abs() < 1e-9, "{}", s.delay_us);
    assert!(
        (s.jitter_us - jitter_ns / 1e3).abs() < 1e-9,
        "{}",
        s.jitter_us
    );
}

// ----------------------------------------------------------------------------------------
// Through the reflector and the pipeline
// ----------------------------------------------------------------------------------------

/// The peer: a reflector owning 10.0.0.2 and fd00::2.
fn reflector() -> StampTables {
    let mut b = StampTables::builder();
    b.own_address(v4("10.0.0.2")).unwrap();
    b.own_address(v6("fd00::2")).unwrap();
    b.build()
}

/// Reflects `probe` with T2 / T3 at fake TSC `t2` / `t3`; returns the reply frame.
fn reflected(probe: &[u8], t2: u64, t3: u64) -> Vec<u8> {
    let c = clock();
    let mut buf = VecBuf::new(probe);
    let meta = parse(buf.data()).unwrap();
    let out = reflect(&reflector(), 7, &mut buf, &meta, c.ntp_at(t2), c.ntp_at(t3)).unwrap();
    assert!(matches!(out, StampOutcome::Reflected(_)));
    buf.data().to_vec()
}

/// This node: sessions 1 (IPv4) and 2 (IPv6); optionally its own reflector owning the
/// sessions' source addresses too (a reply must never be reflected again).
fn sender_pipeline(results: &Arc<ProbeResults>, own_reflector: bool) -> Pipeline {
    let mut b = if own_reflector {
        let mut b = StampTables::builder();
        b.own_address(v4("10.0.0.1")).unwrap();
        b.own_address(v6("fd00::1")).unwrap();
        b
    } else {
        let mut b = StampTables::builder();
        b.enabled(false);
        b
    };
    b.senders(tables_of(
        results,
        &[
            fast(1, v4("10.0.0.1"), v4("10.0.0.2")),
            fast(2, v6("fd00::1"), v6("fd00::2")),
        ],
    ));
    let mut p = Pipeline::new();
    p.set_stamp(b.build());
    p
}

fn run(p: &Pipeline, frame: &[u8], rx_tsc: u64) -> Action {
    let counters = WorkerCounters::default();
    let mut flows = p.new_flow_state(1);
    let mut ctx = WorkerCtx {
        flows: &mut flows,
        counters: &counters,
        clock: clock(),
        rx_tsc,
        tsc: fake_tsc,
    };
    p.process(PORT, &mut VecBuf::new(frame), &mut ctx)
}

fn fake_tsc() -> u64 {
    0
}

/// Sends one probe of each session through the scheduler at TSC 0 (T1), returns them.
fn probes(p: &Pipeline) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut sched = ProbeScheduler::new(HZ);
    sched.poll(p.stamp().sender(), 0, |s, seq| {
        out.push(emit(s, seq, clock().ntp_at(0)));
        Ok(())
    });
    out
}

#[test]
fn probe_reflect_receive_round_trip() {
    let results = Arc::new(ProbeResults::new());
    for own_reflector in [false, true] {
        let p = sender_pipeline(&results, own_reflector);
        for probe in probes(&p) {
            // The peer answers: T2 at 1 us, T3 at 1.5 us; the reply is back at 5 us.
            let reply = reflected(&probe, 1_000, 1_500);
            let act = run(&p, &reply, 5_000);
            assert_eq!(act, Action::consumed(Handler::StampSender));
            assert!(act.is_consumed());
            // The same reply again: consumed as a duplicate, never reflected.
            assert!(run(&p, &reply, 6_000).is_consumed());
        }
    }
    for id in [1, 2] {
        let s = results.session(id).unwrap();
        assert_eq!((s.sent, s.received, s.duplicates), (2, 2, 2), "{s:?}");
        assert!((4_499..=4_500).contains(&s.rtt_min_ns), "{s:?}");
        assert!((4_499..=4_500).contains(&s.rtt_max_ns), "{s:?}");
        assert!((s.delay_us - 2.25).abs() < 0.001, "{s:?}");
        assert!(s.jitter_us < 0.001, "{s:?}");
    }
}

#[test]
fn malformed_and_foreign_replies() {
    let results = Arc::new(ProbeResults::new());
    let p = sender_pipeline(&results, false);
    let probes = probes(&p);
    let good = reflected(&probes[0], 1_000, 1_500);
    let meta = parse(&good).unwrap();
    let (ip, udp_at) = (usize::from(meta.l3_offset), usize::from(meta.l4_offset));
    let fix_ip = |f: &mut Vec<u8>| {
        ipv4::Packet::new_unchecked(&mut f[ip..ip + 20]).fill_checksum();
    };
    let fix_udp = |f: &mut Vec<u8>, src: IpAddr| {
        let end = f.len();
        udp::Packet::new_unchecked(&mut f[udp_at..end]).fill_checksum(&src, &v4("10.0.0.1"));
    };
    let drop_of = |f: &[u8]| run(&p, f, 5_000);

    // Bad UDP checksum.
    let mut f = good.clone();
    f[udp_at + 20] ^= 0xff;
    assert_eq!(drop_of(&f), Action::Drop(DropReason::StampReplyBadChecksum));
    // From another address than the reflector.
    let mut f = good.clone();
    ipv4::Packet::new_unchecked(&mut f[ip..ip + 20]).set_src_addr("10.0.0.3".parse().unwrap());
    fix_ip(&mut f);
    fix_udp(&mut f, v4("10.0.0.3"));
    assert_eq!(drop_of(&f), Action::Drop(DropReason::StampReplyWrongPeer));
    // From another port than the reflector's.
    let mut f = good.clone();
    udp::Packet::new_unchecked(&mut f[udp_at..udp_at + 8]).set_src_port(863);
    fix_udp(&mut f, v4("10.0.0.2"));
    assert_eq!(drop_of(&f), Action::Drop(DropReason::StampReplyWrongPeer));
    // Shorter than a reflector packet (a TWAMP-Light reply of 40 bytes).
    let mut f = good.clone();
    f.truncate(f.len() - 4);
    let l3_len = (f.len() - ip) as u16;
    ipv4::Packet::new_unchecked(&mut f[ip..ip + 20]).set_total_len(l3_len);
    fix_ip(&mut f);
    udp::Packet::new_unchecked(&mut f[udp_at..]).set_len(8 + 40);
    fix_udp(&mut f, v4("10.0.0.2"));
    assert_eq!(drop_of(&f), Action::Drop(DropReason::StampReplyTooShort));
    // A fragment.
    let mut f = good.clone();
    ipv4::Packet::new_unchecked(&mut f[ip..ip + 20]).set_more_frags(true);
    fix_ip(&mut f);
    assert_eq!(drop_of(&f), Action::Drop(DropReason::StampReplyFragment));
    // A sequence number never sent.
    let mut f = good.clone();
    ReflectorPacket::new_unchecked(&mut f[udp_at + 8..udp_at + 8 + REFLECTOR_LEN])
        .set_sender_seq(77);
    fix_udp(&mut f, v4("10.0.0.2"));
    assert_eq!(drop_of(&f), Action::Drop(DropReason::StampReplyUnknownSeq));
    let s = results.session(1).unwrap();
    assert_eq!((s.rejected, s.received), (6, 0));

    // To the session's port at another address of ours: not a reply (forwarded as any
    // packet: here no cross-connect, so no-route), and nothing counted for the session.
    let mut f = good.clone();
    ipv4::Packet::new_unchecked(&mut f[ip..ip + 20]).set_dst_addr("10.0.0.9".parse().unwrap());
    fix_ip(&mut f);
    let end = f.len();
    udp::Packet::new_unchecked(&mut f[udp_at..end]).fill_checksum(&v4("10.0.0.2"), &v4("10.0.0.9"));
    assert_eq!(drop_of(&f), Action::Drop(DropReason::NoRoute));
    assert_eq!(results.session(1).unwrap().rejected, 6);

    // And the good one is still measured.
    assert!(drop_of(&good).is_consumed());
    assert_eq!(results.session(1).unwrap().received, 1);
}

#[test]
fn results_survive_a_table_replacement() {
    let results = Arc::new(ProbeResults::new());
    let p1 = sender_pipeline(&results, false);
    let first = probes(&p1);
    assert!(run(&p1, &reflected(&first[0], 1, 2), 10).is_consumed());
    // A new snapshot (as the control plane publishes) with the same run's results: the
    // reply to a probe the old snapshot sent is measured in the same slot.
    let p2 = sender_pipeline(&results, true);
    assert!(run(&p2, &reflected(&first[1], 1, 2), 10).is_consumed());
    let mut sched = ProbeScheduler::new(HZ);
    let mut seqs = Vec::new();
    sched.poll(p2.stamp().sender(), 0, |s, seq| {
        seqs.push((s.id(), seq));
        Ok(())
    });
    assert_eq!(seqs, [(1, 1), (2, 1)], "sequence numbers continue");
    let snap = results.snapshot();
    assert_eq!(snap.len(), 2);
    assert!(snap.iter().all(|s| s.sent == 2 && s.received == 1));
}

fn seeds() -> Vec<Vec<u8>> {
    let results = Arc::new(ProbeResults::new());
    let p = sender_pipeline(&results, false);
    probes(&p)
        .iter()
        .map(|probe| reflected(probe, 1_000, 1_500))
        .collect()
}

proptest! {
    #[test]
    fn receive_never_panics(which in 0usize..2,
                            flips in proptest::collection::vec((0usize..200, any::<u8>()), 0..6),
                            cut in 0usize..200) {
        let results = Arc::new(ProbeResults::new());
        let p = sender_pipeline(&results, true);
        let _ = probes(&p);
        let mut f = seeds()[which].clone();
        for (at, x) in flips {
            if let Some(b) = f.get_mut(at) {
                *b ^= x;
            }
        }
        f.truncate(f.len().saturating_sub(cut % 40));
        let _ = run(&p, &f, 5_000);
        if let Ok(meta) = parse(&f) {
            let _ = receive(p.stamp().sender(), &f, &meta, NtpTimestamp(0));
        }
    }

    #[test]
    fn emitted_packets_always_parse_back(seq in any::<u32>(), t1 in any::<u64>(),
                                         padding in 0u16..=MAX_PADDING, v6_family in any::<bool>(),
                                         ttl in 1u8..=255) {
        let results = Arc::new(ProbeResults::new());
        let (s, r) = if v6_family {
            (v6("fd00::1"), v6("fd00::2"))
        } else {
            (v4("10.0.0.1"), v4("10.0.0.2"))
        };
        let t = tables_of(&results, &[SessionParams { padding, ttl, ..params(1, s, r) }]);
        let f = emit(&t.sessions()[0], seq, NtpTimestamp(t1));
        let (src, dst, got_ttl, u, st) = parse_probe(&f);
        prop_assert_eq!((src, dst, got_ttl), (s, r, ttl));
        prop_assert_eq!(u.payload_len, 44 + usize::from(padding));
        prop_assert_eq!((st.seq, st.timestamp), (seq, NtpTimestamp(t1)));
        // The reflector accepts it and its reply is measured.
        let reply = reflected(&f, 0, 0);
        let m = parse(&reply).unwrap();
        let udp_at = usize::from(m.l4_offset);
        let rp = ReflectorPacket::new_checked(&reply[udp_at + 8..]).unwrap();
        let rr = ReflectorRepr::parse(&rp).unwrap();
        prop_assert_eq!(rr.sender.seq, seq);
    }
}
