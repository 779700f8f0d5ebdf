//! Rate control by the TSC: a token bucket per TX core.
//!
//! Credit is kept in "packet × TSC Hz" units, so a packet costs exactly `hz` and elapsed
//! cycles add `cycles × pps`: integer arithmetic, no drift however long the run. The bucket
//! holds at most `cap` packets, so a core that was held up (a full TX ring, an idle sleep)
//! catches up by at most that many packets instead of bursting without bound.

/// A token bucket driven by TSC readings.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Packets per second (0: unlimited).
    pps: u128,
    hz: u128,
    credit: u128,
    cap: u128,
    last: u64,
}

impl TokenBucket {
    /// A bucket for `pps` packets per second (`None`: unlimited) on a TSC of `hz`, holding
    /// at most `cap_packets`, starting empty at TSC `now`.
    pub fn new(pps: Option<f64>, hz: u64, cap_packets: u32, now: u64) -> TokenBucket {
        // Rates are kept in milli-packets per second so fractional rates stay exact enough.
        let pps = pps.map_or(0, |p| (p * 1000.0).round().max(1.0) as u128);
        let hz = u128::from(hz.max(1)) * 1000;
        TokenBucket {
            pps,
            hz,
            credit: 0,
            cap: u128::from(cap_packets.max(1)) * hz,
            last: now,
        }
    }

    /// True when there is no rate limit.
    pub fn unlimited(&self) -> bool {
        self.pps == 0
    }

    /// How many packets (at most `want`) may be sent at TSC `now`.
    #[inline]
    pub fn available(&mut self, now: u64, want: u32) -> u32 {
        if self.pps == 0 {
            return want;
        }
        let dt = now.saturating_sub(self.last);
        self.last = now;
        self.credit = (self.credit + u128::from(dt) * self.pps).min(self.cap);
        (self.credit / self.hz).min(u128::from(want)) as u32
    }

    /// Takes `n` packets' worth of credit (after sending them).
    #[inline]
    pub fn consume(&mut self, n: u32) {
        if self.pps != 0 {
            self.credit = self.credit.saturating_sub(u128::from(n) * self.hz);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_at_the_rate_without_drift() {
        // 1 GHz TSC, 1 Mpps: one packet per 1000 cycles.
        let mut b = TokenBucket::new(Some(1e6), 1_000_000_000, 64, 0);
        let mut sent = 0u64;
        let mut now = 0u64;
        while now < 1_000_000_000 {
            now += 777; // an odd polling period
            let n = b.available(now, 32);
            b.consume(n);
            sent += u64::from(n);
        }
        assert!((999_990..=1_000_000).contains(&sent), "{sent}");
    }

    #[test]
    fn cap_limits_catch_up_and_unlimited_gives_all() {
        let mut b = TokenBucket::new(Some(1000.0), 1_000_000, 10, 0);
        assert_eq!(
            b.available(1_000_000, 64),
            10,
            "one second idle: only the cap"
        );
        b.consume(10);
        assert_eq!(b.available(1_000_000, 64), 0);
        assert_eq!(b.available(1_002_000, 64), 2);
        let mut u = TokenBucket::new(None, 1, 1, 0);
        assert!(u.unlimited());
        assert_eq!(u.available(0, 32), 32);
        // A fractional rate: 0.5 pps.
        let mut h = TokenBucket::new(Some(0.5), 1000, 4, 0);
        assert_eq!(h.available(1999, 8), 0);
        assert_eq!(h.available(2000, 8), 1);
    }
}
