//! Wall-clock time on the fast path: the TSC, anchored once to the system clock.
//!
//! A worker reads the TSC (tens of cycles) instead of calling into the kernel; the anchor
//! turns TSC values into NTP timestamps for STAMP. Drift between the TSC and the system
//! clock over a run is far below the STAMP error estimate we advertise.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::stamp::NtpTimestamp;

/// Converts TSC readings into wall-clock NTP timestamps.
#[derive(Debug, Clone, Copy)]
pub struct TscClock {
    wall_at_anchor: Duration,
    tsc_at_anchor: u64,
    hz: u64,
}

impl TscClock {
    /// Anchors `tsc_now` (a TSC reading taken now) to the system clock; `hz` is the TSC
    /// frequency (from EAL).
    pub fn anchored(tsc_now: u64, hz: u64) -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self::with_anchor(wall, tsc_now, hz)
    }

    /// A clock for which `tsc` reads `wall` (for tests and replay).
    pub fn with_anchor(wall: Duration, tsc: u64, hz: u64) -> Self {
        TscClock {
            wall_at_anchor: wall,
            tsc_at_anchor: tsc,
            hz: hz.max(1),
        }
    }

    /// The wall-clock time at TSC reading `tsc` (readings before the anchor read as the
    /// anchor).
    #[inline]
    pub fn wall_at(&self, tsc: u64) -> Duration {
        let ticks = tsc.saturating_sub(self.tsc_at_anchor);
        let secs = ticks / self.hz;
        let rem = ticks % self.hz;
        let nanos = (u128::from(rem) * 1_000_000_000 / u128::from(self.hz)) as u64;
        self.wall_at_anchor + Duration::from_secs(secs) + Duration::from_nanos(nanos)
    }

    /// The NTP timestamp at TSC reading `tsc`.
    #[inline]
    pub fn ntp_at(&self, tsc: u64) -> NtpTimestamp {
        NtpTimestamp::from_unix(self.wall_at(tsc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsc_ticks_become_wall_time() {
        let c = TscClock::with_anchor(Duration::from_secs(1_700_000_000), 1_000, 2_000_000_000);
        assert_eq!(c.wall_at(1_000), Duration::from_secs(1_700_000_000));
        assert_eq!(
            c.wall_at(1_000 + 3_000_000_000),
            Duration::from_millis(1_700_000_001_500)
        );
        assert_eq!(c.wall_at(0), Duration::from_secs(1_700_000_000));
        let a = c.ntp_at(1_000);
        let b = c.ntp_at(1_000 + 2_000);
        assert!(b.0 > a.0, "later TSC, later NTP time");
        assert_eq!(a.seconds(), 1_700_000_000 + 2_208_988_800);
    }
}
