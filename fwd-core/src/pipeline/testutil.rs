//! What the pipeline's fast-path tests share (test-only).

use super::{Action, Pipeline, WorkerCtx};
use crate::buf::{PacketBuf, VecBuf};
use crate::clock::TscClock;
use crate::counters::{CounterSnapshot, WorkerCounters};

/// The general path's action on `frame` (received on port 0) with fresh flow tables and
/// counters, the frame it leaves, and what it counted.
pub(super) fn general(p: &Pipeline, frame: &[u8]) -> (Action, Vec<u8>, CounterSnapshot) {
    run(p, frame, false)
}

/// As [`general`], through [`Pipeline::process`]: the fast paths first.
pub(super) fn processed(p: &Pipeline, frame: &[u8]) -> (Action, Vec<u8>, CounterSnapshot) {
    run(p, frame, true)
}

fn run(p: &Pipeline, frame: &[u8], fast: bool) -> (Action, Vec<u8>, CounterSnapshot) {
    let counters = WorkerCounters::default();
    let mut flows = p.new_flow_state(1);
    let mut ctx = WorkerCtx {
        flows: &mut flows,
        counters: &counters,
        clock: TscClock::anchored(0, 1_000_000_000),
        rx_tsc: 0,
        tsc: || 0,
    };
    let mut pkt = VecBuf::new(frame);
    let action = if fast {
        p.process(0, &mut pkt, &mut ctx)
    } else {
        p.process_general(0, &mut pkt, &mut ctx)
    };
    (action, pkt.data().to_vec(), counters.snapshot())
}
