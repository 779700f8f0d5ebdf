//! Whether a worker runs the staged prefetch pass over its bursts, chosen by measurement.
//!
//! The staged pass ([`crate::pipeline::Pipeline::prefetch`] over the whole burst, then
//! [`crate::pipeline::Pipeline::prefetch_second`], as `rte_hash`'s bulk lookup does)
//! requests every table entry of a burst before the first packet is processed, so that the
//! burst's cache misses overlap. It pays when those entries are in DRAM (a 1M-label LFIB
//! with every label in use: `mpls-swap-1m-all` forwards about 8 % faster with it) and costs
//! when they are already cached (a few thousand hot labels of the same LFIB:
//! `mpls-swap-1m` forwards about 5 % faster without it). Which of the two holds depends on
//! the traffic, not on the table, and changes when the traffic does, so the worker does
//! not guess: it measures both modes on its own traffic now and then and runs the faster.
//!
//! Every [`TunerParams::period`] bursts a trial of [`TunerParams::trial`] bursts
//! alternates the two modes in blocks of [`TunerParams::block`] bursts (both modes then
//! see the same moments of a noisy machine), summing TSC cycles and packets per mode;
//! loops longer than the worker's long-loop bound (preemption, a table replacement) are
//! left out. The mode with fewer cycles per packet runs until the next trial; the current
//! mode is kept unless the other is better by more than [`TunerParams::margin_permille`].
//! A trial costs at most half its bursts run in the slower mode: with the defaults, 512 of
//! 33792 bursts (a trial every 45 ms at 24 Mpps).
//!
//! Pure bookkeeping: no clock of its own, no allocation; the worker passes each burst's
//! cycles and packets to [`PrefetchTuner::record`].

/// How a worker prefetches a burst's table entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefetchMode {
    /// The staged pass over the whole burst before processing it.
    Staged,
    /// No staged pass: each packet's table entries are read when it is processed (the
    /// packet data is still prefetched a few packets ahead).
    Inline,
}

/// The operator's choice (`[dataplane] prefetch` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrefetchPolicy {
    /// Measure and run the faster mode (the default).
    #[default]
    Auto,
    /// Always run this mode (reproducible benchmarks, or a traffic mix known in advance).
    Fixed(PrefetchMode),
}

/// Trial schedule of a [`PrefetchTuner`] in [`PrefetchPolicy::Auto`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TunerParams {
    /// Bursts run in the chosen mode between two trials.
    pub period: u32,
    /// Bursts of a trial (both modes together).
    pub trial: u32,
    /// Consecutive bursts of one mode within a trial.
    pub block: u32,
    /// How much faster, in thousandths, the other mode must be to replace the current one.
    pub margin_permille: u32,
}

impl Default for TunerParams {
    fn default() -> Self {
        TunerParams {
            period: 32768,
            trial: 1024,
            block: 32,
            margin_permille: 20,
        }
    }
}

/// Cycles and packets measured in one mode during a trial.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sample {
    cycles: u64,
    packets: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Running the chosen mode; `left` bursts until the next trial.
    Run { left: u32 },
    /// `done` bursts of the trial recorded.
    Trial { done: u32 },
}

/// Chooses a worker's [`PrefetchMode`] burst by burst. One per worker; never shared.
#[derive(Debug, Clone)]
pub struct PrefetchTuner {
    policy: PrefetchPolicy,
    params: TunerParams,
    chosen: PrefetchMode,
    phase: Phase,
    staged: Sample,
    inline: Sample,
    trials: u64,
}

impl PrefetchTuner {
    /// A tuner following `policy`. In [`PrefetchPolicy::Auto`] it runs
    /// [`PrefetchMode::Staged`] for a first period and only then runs its first trial: at
    /// start-up the caches and the flow tables are cold, and a trial would measure that.
    pub fn new(policy: PrefetchPolicy, params: TunerParams) -> Self {
        let params = TunerParams {
            period: params.period.max(1),
            trial: params.trial.max(2),
            block: params.block.max(1),
            ..params
        };
        let chosen = match policy {
            PrefetchPolicy::Auto => PrefetchMode::Staged,
            PrefetchPolicy::Fixed(mode) => mode,
        };
        PrefetchTuner {
            policy,
            params,
            chosen,
            phase: Phase::Run {
                left: params.period,
            },
            staged: Sample::default(),
            inline: Sample::default(),
            trials: 0,
        }
    }

    /// The mode to run the next burst in.
    #[inline]
    pub fn mode(&self) -> PrefetchMode {
        match (self.policy, self.phase) {
            (PrefetchPolicy::Fixed(mode), _) => mode,
            (PrefetchPolicy::Auto, Phase::Run { .. }) => self.chosen,
            (PrefetchPolicy::Auto, Phase::Trial { done }) => {
                if (done / self.params.block) % 2 == 0 {
                    PrefetchMode::Staged
                } else {
                    PrefetchMode::Inline
                }
            }
        }
    }

    /// Records a burst of `packets` run in [`PrefetchTuner::mode`] that took `cycles`;
    /// `long` marks a loop beyond the worker's long-loop bound, which is not measured.
    #[inline]
    pub fn record(&mut self, cycles: u64, packets: usize, long: bool) {
        if self.policy != PrefetchPolicy::Auto {
            return;
        }
        match self.phase {
            Phase::Run { left } if left > 1 => self.phase = Phase::Run { left: left - 1 },
            Phase::Run { .. } => {
                self.staged = Sample::default();
                self.inline = Sample::default();
                self.phase = Phase::Trial { done: 0 };
            }
            Phase::Trial { done } => {
                if !long && packets > 0 {
                    let s = match self.mode() {
                        PrefetchMode::Staged => &mut self.staged,
                        PrefetchMode::Inline => &mut self.inline,
                    };
                    s.cycles = s.cycles.saturating_add(cycles);
                    s.packets += packets as u64;
                }
                let done = done + 1;
                if done >= self.params.trial {
                    self.decide();
                    self.phase = Phase::Run {
                        left: self.params.period,
                    };
                } else {
                    self.phase = Phase::Trial { done };
                }
            }
        }
    }

    /// Ends a trial: switches to the other mode if it measured faster by more than the
    /// margin; keeps the current one if either mode measured nothing.
    fn decide(&mut self) {
        self.trials += 1;
        let (current, other, other_mode) = match self.chosen {
            PrefetchMode::Staged => (self.staged, self.inline, PrefetchMode::Inline),
            PrefetchMode::Inline => (self.inline, self.staged, PrefetchMode::Staged),
        };
        if current.packets == 0 || other.packets == 0 {
            return;
        }
        // other's cycles per packet * (1 + margin) < current's, without division.
        let lhs = u128::from(other.cycles)
            * u128::from(current.packets)
            * u128::from(1000 + self.params.margin_permille);
        let rhs = u128::from(current.cycles) * u128::from(other.packets) * 1000;
        if lhs < rhs {
            self.chosen = other_mode;
        }
    }

    /// The mode chosen by the last trial (or fixed by the policy).
    pub fn chosen(&self) -> PrefetchMode {
        self.chosen
    }

    /// Trials completed.
    pub fn trials(&self) -> u64 {
        self.trials
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> TunerParams {
        TunerParams {
            period: 100,
            trial: 40,
            block: 4,
            margin_permille: 20,
        }
    }

    /// Runs `bursts` bursts of 32 packets costing `staged` / `inline` cycles per packet.
    fn drive(t: &mut PrefetchTuner, bursts: u32, staged: u64, inline: u64) -> (u32, u32) {
        let (mut s, mut i) = (0, 0);
        for _ in 0..bursts {
            let cpp = match t.mode() {
                PrefetchMode::Staged => {
                    s += 1;
                    staged
                }
                PrefetchMode::Inline => {
                    i += 1;
                    inline
                }
            };
            t.record(cpp * 32, 32, false);
        }
        (s, i)
    }

    /// A tuner past its first period, about to start its first trial.
    fn warm() -> PrefetchTuner {
        let mut t = PrefetchTuner::new(PrefetchPolicy::Auto, params());
        let (s, i) = drive(&mut t, 100, 100, 50);
        assert_eq!(
            (s, i, t.trials()),
            (100, 0, 0),
            "the first period runs staged"
        );
        t
    }

    #[test]
    fn picks_the_faster_mode_and_follows_the_traffic_when_it_changes() {
        let mut t = warm();
        // Cached entries: the pass only costs.
        drive(&mut t, 40, 100, 90);
        assert_eq!(t.chosen(), PrefetchMode::Inline);
        assert_eq!(t.trials(), 1);
        let (s, i) = drive(&mut t, 100, 100, 90);
        assert_eq!((s, i), (0, 100), "between trials only the chosen mode runs");
        // The traffic's working set outgrows the cache: the pass pays now.
        drive(&mut t, 40, 110, 150);
        assert_eq!(t.chosen(), PrefetchMode::Staged);
        assert_eq!(t.trials(), 2);
    }

    #[test]
    fn a_trial_alternates_blocks_of_both_modes() {
        let mut t = warm();
        let mut seen = Vec::new();
        for _ in 0..12 {
            seen.push(t.mode());
            t.record(3200, 32, false);
        }
        use PrefetchMode::{Inline as I, Staged as S};
        assert_eq!(seen, [S, S, S, S, I, I, I, I, S, S, S, S]);
    }

    #[test]
    fn keeps_the_current_mode_within_the_margin() {
        let mut t = warm();
        // 1 % faster without the pass: under the 2 % margin.
        drive(&mut t, 40, 1000, 990);
        assert_eq!(t.chosen(), PrefetchMode::Staged);
        // 3 % faster: over it.
        drive(&mut t, 140, 1000, 970);
        assert_eq!(t.chosen(), PrefetchMode::Inline);
    }

    #[test]
    fn long_loops_and_empty_bursts_are_not_measured() {
        let mut t = warm();
        // A preemption during an inline block would make inline look slow.
        for n in 0..40 {
            let (cycles, long) = match (t.mode(), n) {
                (PrefetchMode::Inline, 5) => (10_000_000, true),
                (PrefetchMode::Inline, _) => (90 * 32, false),
                (PrefetchMode::Staged, _) => (100 * 32, false),
            };
            t.record(cycles, 32, long);
        }
        assert_eq!(t.chosen(), PrefetchMode::Inline);
        // A trial that measures only one mode changes nothing.
        let mut t = warm();
        for _ in 0..40 {
            let packets = if t.mode() == PrefetchMode::Staged {
                32
            } else {
                0
            };
            t.record(3200, packets, false);
        }
        assert_eq!((t.chosen(), t.trials()), (PrefetchMode::Staged, 1));
    }

    #[test]
    fn fixed_policies_never_trial() {
        for mode in [PrefetchMode::Staged, PrefetchMode::Inline] {
            let mut t = PrefetchTuner::new(PrefetchPolicy::Fixed(mode), params());
            for n in 0..1000u64 {
                assert_eq!(t.mode(), mode);
                t.record(n * 1000, 32, false);
            }
            assert_eq!((t.chosen(), t.trials()), (mode, 0));
        }
    }

    #[test]
    fn huge_sums_do_not_overflow_the_comparison() {
        let mut t = warm();
        // Sums near 2^50 cycles: their products with packet counts and the margin do not fit
        // 64 bits.
        drive(&mut t, 40, 1_000_000_000_000, 500_000_000_000);
        assert_eq!(t.chosen(), PrefetchMode::Inline);
    }
}
