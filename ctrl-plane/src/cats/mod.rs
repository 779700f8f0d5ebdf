//! CATS (seed `001_*`, draft-yuan-cats-hierarchical-loop-prevention): service instances
//! report metrics, each PE aggregates its own instances' metrics per service, and every
//! PE builds a **Global RIB** (service → PEs with their aggregated metric) and a **Local
//! RIB** (service → its own instances with their metrics), the control-plane halves of
//! the seed's figure 3. [`crate::compile::service`] turns them into the data plane's
//! Global and Local FIBs (`[tables.service]`).
//!
//! # Model
//!
//! - A **report** is one instance's view of one service on one PE (figure 1's
//!   "Metric i,j"): an [`InstanceMetric`] — a `u32` metric (lower is better), up or
//!   down, and an optional weight (capacity; 1 when absent) — keyed by
//!   `(PE, service, instance)`. An instance serving three services makes three reports.
//! - An **advertisement** is the aggregated metric a PE published for one service
//!   ([`CatsState::published`] computes what the local PE publishes; other PEs'
//!   advertisements come back from etcd through [`CatsState::advertise`]).
//!
//! # Aggregation (figure 1's `Function(...)`)
//!
//! Per `(PE, service)`, over the **live** reports only (down instances are excluded),
//! with the [`Aggregation`] the [`AggregationPolicy`] gives the service:
//! - [`Aggregation::Min`]: the best instance's metric (the seed's usecase);
//! - [`Aggregation::Mean`]: the arithmetic mean, rounded to the nearest integer (halves
//!   up);
//! - [`Aggregation::Weighted`]: the mean weighted by each instance's weight (1 when it
//!   reports none), rounded the same way; with no weights it equals `Mean`.
//!
//! Every result lies between the smallest and the largest live metric, so an aggregate
//! stays comparable to any single instance's metric (the draft's requirement). A PE with
//! no live instance for a service has no aggregate: it is not offered in the GRIB and
//! publishes nothing for that service (the etcd side deletes its key).
//!
//! # Which source wins for a PE's GRIB entry
//!
//! - The **local PE** is always computed from its own reports; its own advertisement
//!   (echoed back by etcd) is never used, so a stale one cannot outlive a failure.
//! - A **remote PE** is computed from its reports when the state holds at least one
//!   report (up or down) for that `(PE, service)`: detailed data beats a summary, and a PE
//!   whose reported instances are all down is withdrawn even if its last advertisement
//!   lingers. Otherwise its advertisement, if any, is used as is.
//!
//! GRIB entries are sorted by `(metric, PE)`, LRIB entries by `(metric, instance)`, so
//! the output is deterministic.
//!
//! # Values
//!
//! [`InstanceMetric::from_str`] reads what an instance writes under
//! `/cats/instance/<pe>/<service>/<instance>` (the etcd schema's `metric,up|down[,weight]`),
//! e.g. `26`, `20,down`, `34,up,4`; its [`Display`] writes the same canonical form. A
//! weight of 0 means no capacity: the instance counts as down. An advertisement
//! (`/cats/metric/<service>/<pe>`) is a bare decimal metric ([`parse_advertisement`],
//! [`format_advertisement`]). Parsers never panic and name what they expected.
//!
//! [`Display`]: core::fmt::Display

use core::fmt;
use core::num::NonZeroU32;
use core::str::FromStr;
use std::collections::BTreeMap;

pub use fwd_core::service::ServiceId;

/// A PE's stable ID (the `id` of `[[tables.service.pe]]`).
pub type PeId = u32;
/// An instance's ID, unique within its PE (the `id` of `[[tables.service.instance]]`).
pub type InstanceId = u32;

/// The longest piece of an untrusted value an error message quotes.
const MAX_QUOTED: usize = 64;

/// Quotes an untrusted value for an error message, cut to [`MAX_QUOTED`] characters.
pub(crate) fn quoted(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTED) {
        Some((at, _)) => format!("{:?}... ({} bytes)", &s[..at], s.len()),
        None => format!("{s:?}"),
    }
}

/// A CATS value that does not parse: what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: expected {expected}, got {got}")]
pub struct CatsError {
    /// What was being read, e.g. `instance metric` or `instance metric weight`.
    pub what: &'static str,
    /// What was expected.
    pub expected: &'static str,
    /// What was found (quoted, cut to 64 characters).
    pub got: String,
}

fn cats_err(what: &'static str, expected: &'static str, got: &str) -> CatsError {
    CatsError {
        what,
        expected,
        got: quoted(got),
    }
}

/// A decimal `u32`: ASCII digits only (no sign, no spaces), at most 10 of them.
fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// How a PE folds its instances' metrics for one service into the one it advertises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Aggregation {
    /// The lowest live metric.
    #[default]
    Min,
    /// The mean of the live metrics, rounded to nearest (halves up).
    Mean,
    /// The mean weighted by instance weight (1 if unset), rounded to nearest (halves up).
    Weighted,
}

impl Aggregation {
    /// The method's name as [`Aggregation::from_str`] reads it.
    pub const fn name(self) -> &'static str {
        match self {
            Aggregation::Min => "min",
            Aggregation::Mean => "mean",
            Aggregation::Weighted => "weighted",
        }
    }

    /// Aggregates `reports`, ignoring down ones; `None` when none is up.
    pub fn apply<'a>(self, reports: impl IntoIterator<Item = &'a InstanceMetric>) -> Option<u32> {
        // Sums in u128: 2^32 reports of weight 2^32 and metric 2^32 still fit.
        let mut min: Option<u32> = None;
        let (mut sum, mut weights, mut n) = (0u128, 0u128, 0u128);
        for r in reports.into_iter().filter(|r| r.up) {
            min = Some(min.map_or(r.metric, |m| m.min(r.metric)));
            let w = match self {
                Aggregation::Weighted => u128::from(r.weight.map_or(1, NonZeroU32::get)),
                _ => 1,
            };
            sum += w * u128::from(r.metric);
            weights += w;
            n += 1;
        }
        match self {
            Aggregation::Min => min,
            Aggregation::Mean | Aggregation::Weighted if n > 0 => {
                // weights > 0 (every weight is at least 1); the mean is at most the
                // largest metric, so it fits a u32.
                u32::try_from((sum + weights / 2) / weights).ok()
            }
            _ => None,
        }
    }
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Aggregation {
    type Err = CatsError;

    /// `min`, `mean` or `weighted`.
    fn from_str(s: &str) -> Result<Self, CatsError> {
        match s {
            "min" => Ok(Aggregation::Min),
            "mean" => Ok(Aggregation::Mean),
            "weighted" => Ok(Aggregation::Weighted),
            _ => Err(cats_err(
                "aggregation method",
                "one of \"min\", \"mean\", \"weighted\"",
                s,
            )),
        }
    }
}

/// Which [`Aggregation`] each service uses: a default and per-service overrides.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AggregationPolicy {
    default: Aggregation,
    per_service: BTreeMap<ServiceId, Aggregation>,
}

impl AggregationPolicy {
    /// Every service aggregated with `default`.
    pub fn new(default: Aggregation) -> AggregationPolicy {
        AggregationPolicy {
            default,
            per_service: BTreeMap::new(),
        }
    }

    /// Aggregates `service` with `method` rather than the default.
    pub fn set(&mut self, service: ServiceId, method: Aggregation) -> &mut Self {
        self.per_service.insert(service, method);
        self
    }

    /// Returns `service` to the default method.
    pub fn unset(&mut self, service: ServiceId) -> &mut Self {
        self.per_service.remove(&service);
        self
    }

    /// The method for `service`.
    pub fn method(&self, service: ServiceId) -> Aggregation {
        self.per_service
            .get(&service)
            .copied()
            .unwrap_or(self.default)
    }
}

/// What one instance reports for one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstanceMetric {
    /// Load / latency metric, lower is better.
    pub metric: u32,
    /// False: failed or drained; excluded from every aggregate and never chosen.
    pub up: bool,
    /// Relative capacity for [`Aggregation::Weighted`] (1 when `None`).
    pub weight: Option<NonZeroU32>,
}

impl InstanceMetric {
    /// A live instance of weight 1.
    pub const fn up(metric: u32) -> InstanceMetric {
        InstanceMetric {
            metric,
            up: true,
            weight: None,
        }
    }

    /// A failed instance.
    pub const fn down(metric: u32) -> InstanceMetric {
        InstanceMetric {
            metric,
            up: false,
            weight: None,
        }
    }

    /// A report with a plain weight, as the etcd schema carries it: weight 0 means no
    /// capacity, so the instance counts as down (and has no weight).
    pub const fn new(metric: u32, up: bool, weight: u32) -> InstanceMetric {
        match NonZeroU32::new(weight) {
            Some(w) => InstanceMetric {
                metric,
                up,
                weight: Some(w),
            },
            None => InstanceMetric {
                metric,
                up: false,
                weight: None,
            },
        }
    }

    /// The same report with a weight.
    pub const fn with_weight(mut self, weight: NonZeroU32) -> InstanceMetric {
        self.weight = Some(weight);
        self
    }
}

impl fmt::Display for InstanceMetric {
    /// The canonical value: `<metric>,up|down[,<weight>]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.metric, if self.up { "up" } else { "down" })?;
        if let Some(w) = self.weight {
            write!(f, ",{w}")?;
        }
        Ok(())
    }
}

impl FromStr for InstanceMetric {
    type Err = CatsError;

    /// `<metric>[,up|down[,<weight>]]`, the value of `/cats/instance/...` in the etcd
    /// schema (`metric,up|down[,weight]`): decimal metric, state (default up), decimal
    /// weight (default none, i.e. 1; 0 means no capacity: the instance counts as down,
    /// see [`InstanceMetric::new`]). Spaces around fields are ignored.
    fn from_str(s: &str) -> Result<Self, CatsError> {
        let fields: Vec<&str> = s.split(',').map(str::trim).collect();
        if fields.len() > 3 {
            return Err(cats_err(
                "instance metric",
                "at most 3 fields: metric,up|down[,weight]",
                s,
            ));
        }
        let first = fields.first().copied().unwrap_or_default();
        let metric = parse_u32(first).ok_or_else(|| {
            cats_err(
                "instance metric",
                "a decimal metric 0..=4294967295 first (e.g. \"26\" or \"26,down\")",
                first,
            )
        })?;
        let up = match fields.get(1).copied() {
            None | Some("up") => true,
            Some("down") => false,
            Some(other) => {
                return Err(cats_err(
                    "instance metric state",
                    "`up` or `down` after the metric",
                    other,
                ))
            }
        };
        let weight = match fields.get(2).copied() {
            None => None,
            Some(w) => Some(parse_u32(w).ok_or_else(|| {
                cats_err(
                    "instance metric weight",
                    "a decimal weight 0..=4294967295",
                    w,
                )
            })?),
        };
        Ok(match weight {
            Some(w) => InstanceMetric::new(metric, up, w),
            None => InstanceMetric {
                metric,
                up,
                weight: None,
            },
        })
    }
}

/// Reads a PE's advertised aggregate: a bare decimal `u32`.
pub fn parse_advertisement(s: &str) -> Result<u32, CatsError> {
    parse_u32(s.trim())
        .ok_or_else(|| cats_err("advertised metric", "a decimal metric 0..=4294967295", s))
}

/// Writes an aggregate as [`parse_advertisement`] reads it.
pub fn format_advertisement(metric: u32) -> String {
    metric.to_string()
}

/// One candidate PE of a GRIB entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeRoute {
    /// The PE's aggregated metric (lower is better). First: entries sort by metric.
    pub metric: u32,
    /// The PE.
    pub pe: PeId,
}

/// One local instance of an LRIB entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalRoute {
    /// The instance.
    pub instance: InstanceId,
    /// Its metric.
    pub metric: u32,
    /// Whether it is up (down instances are listed, as in figure 6, but never chosen).
    pub up: bool,
    /// Its weight, if it reported one.
    pub weight: Option<NonZeroU32>,
}

/// The Global RIB: service → the PEs offering it, sorted by `(metric, PE)`. Only PEs with
/// at least one live instance (or a live advertisement) appear; a service no PE offers
/// has no entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grib {
    routes: BTreeMap<ServiceId, Vec<PeRoute>>,
}

impl Grib {
    /// The PEs offering `service`, best first (empty if none).
    pub fn routes(&self, service: ServiceId) -> &[PeRoute] {
        self.routes.get(&service).map_or(&[], Vec::as_slice)
    }

    /// The PEs of the lowest metric for `service` (several on a tie; empty if none).
    pub fn best(&self, service: ServiceId) -> &[PeRoute] {
        let r = self.routes(service);
        let n = r
            .iter()
            .take_while(|x| r.first().is_some_and(|b| b.metric == x.metric))
            .count();
        &r[..n]
    }

    /// Every entry, by service.
    pub fn iter(&self) -> impl Iterator<Item = (ServiceId, &[PeRoute])> {
        self.routes.iter().map(|(s, r)| (*s, r.as_slice()))
    }

    /// Number of services offered.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True when no service is offered.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// The Local RIB of one PE: service → its instances (up and down), sorted by
/// `(metric, instance)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lrib {
    routes: BTreeMap<ServiceId, Vec<LocalRoute>>,
}

impl Lrib {
    /// Every instance reported for `service`, up or down, best first.
    pub fn routes(&self, service: ServiceId) -> &[LocalRoute] {
        self.routes.get(&service).map_or(&[], Vec::as_slice)
    }

    /// The live instances of `service`, best first.
    pub fn live(&self, service: ServiceId) -> impl Iterator<Item = &LocalRoute> {
        self.routes(service).iter().filter(|r| r.up)
    }

    /// The best live instance of `service` (the lowest metric, then the lowest ID; the
    /// data plane spreads flows over instances of equal metric), if any.
    pub fn best(&self, service: ServiceId) -> Option<&LocalRoute> {
        self.live(service).next()
    }

    /// Every entry, by service.
    pub fn iter(&self) -> impl Iterator<Item = (ServiceId, &[LocalRoute])> {
        self.routes.iter().map(|(s, r)| (*s, r.as_slice()))
    }

    /// Number of services with at least one reported instance.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True when no instance is reported.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// Everything CATS knows: instance reports and PEs' advertisements. Plain data, updated
/// by the etcd side one key at a time; every RIB is recomputed from it on demand.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CatsState {
    reports: BTreeMap<(PeId, ServiceId, InstanceId), InstanceMetric>,
    advertised: BTreeMap<(PeId, ServiceId), u32>,
}

impl CatsState {
    /// An empty state.
    pub fn new() -> CatsState {
        CatsState::default()
    }

    /// Records (or replaces) what `instance` of `pe` reports for `service`; returns the
    /// previous report.
    pub fn report(
        &mut self,
        pe: PeId,
        service: ServiceId,
        instance: InstanceId,
        m: InstanceMetric,
    ) -> Option<InstanceMetric> {
        self.reports.insert((pe, service, instance), m)
    }

    /// Forgets one report (its key was deleted or its lease expired).
    pub fn withdraw(
        &mut self,
        pe: PeId,
        service: ServiceId,
        instance: InstanceId,
    ) -> Option<InstanceMetric> {
        self.reports.remove(&(pe, service, instance))
    }

    /// Forgets every report of one instance (all its services); returns how many.
    pub fn withdraw_instance(&mut self, pe: PeId, instance: InstanceId) -> usize {
        let before = self.reports.len();
        self.reports
            .retain(|&(p, _, i), _| !(p == pe && i == instance));
        before - self.reports.len()
    }

    /// Records (or replaces) the aggregate `pe` advertised for `service`.
    pub fn advertise(&mut self, pe: PeId, service: ServiceId, metric: u32) -> Option<u32> {
        self.advertised.insert((pe, service), metric)
    }

    /// Forgets an advertisement (the PE withdrew it: no live instance left).
    pub fn unadvertise(&mut self, pe: PeId, service: ServiceId) -> Option<u32> {
        self.advertised.remove(&(pe, service))
    }

    /// The report of one instance for one service.
    pub fn instance(
        &self,
        pe: PeId,
        service: ServiceId,
        instance: InstanceId,
    ) -> Option<&InstanceMetric> {
        self.reports.get(&(pe, service, instance))
    }

    /// Number of reports held.
    pub fn report_count(&self) -> usize {
        self.reports.len()
    }

    /// The reports of `(pe, service)`, by instance.
    fn group(
        &self,
        pe: PeId,
        service: ServiceId,
    ) -> impl Iterator<Item = (InstanceId, &InstanceMetric)> {
        self.reports
            .range((pe, service, InstanceId::MIN)..=(pe, service, InstanceId::MAX))
            .map(|(&(_, _, i), m)| (i, m))
    }

    /// The aggregate of `pe`'s live reports for `service` with `method`; `None` when it
    /// has no live instance for it. Advertisements are not consulted.
    pub fn aggregate(&self, pe: PeId, service: ServiceId, method: Aggregation) -> Option<u32> {
        method.apply(self.group(pe, service).map(|(_, m)| m))
    }

    /// What `pe` publishes: for each service it has a live instance of, its aggregate
    /// (from reports only). Services missing here must be withdrawn from etcd.
    pub fn published(&self, pe: PeId, policy: &AggregationPolicy) -> BTreeMap<ServiceId, u32> {
        let mut out = BTreeMap::new();
        let mut services = self
            .reports
            .range((pe, ServiceId::MIN, InstanceId::MIN)..=(pe, ServiceId::MAX, InstanceId::MAX))
            .map(|(&(_, s, _), _)| s)
            .peekable();
        while let Some(s) = services.next() {
            while services.peek() == Some(&s) {
                services.next();
            }
            if let Some(m) = self.aggregate(pe, s, policy.method(s)) {
                out.insert(s, m);
            }
        }
        out
    }

    /// The Global RIB as `local_pe` sees it (see the module documentation for which
    /// source wins for each PE).
    pub fn grib(&self, local_pe: PeId, policy: &AggregationPolicy) -> Grib {
        let mut routes: BTreeMap<ServiceId, Vec<PeRoute>> = BTreeMap::new();
        // PEs with reports: aggregate them (reports are grouped by (PE, service)).
        let mut it = self.reports.iter().peekable();
        while let Some((&(pe, service, _), first)) = it.next() {
            let mut group = vec![first];
            while let Some((_, m)) = it.next_if(|(&(p, s, _), _)| p == pe && s == service) {
                group.push(m);
            }
            if let Some(metric) = policy.method(service).apply(group) {
                routes
                    .entry(service)
                    .or_default()
                    .push(PeRoute { metric, pe });
            }
        }
        // Remote PEs known by their advertisement only.
        for (&(pe, service), &metric) in &self.advertised {
            if pe != local_pe && self.group(pe, service).next().is_none() {
                routes
                    .entry(service)
                    .or_default()
                    .push(PeRoute { metric, pe });
            }
        }
        for r in routes.values_mut() {
            r.sort_unstable();
        }
        Grib { routes }
    }

    /// The Local RIB of `pe`: every instance it reported, per service.
    pub fn lrib(&self, pe: PeId) -> Lrib {
        let mut routes: BTreeMap<ServiceId, Vec<LocalRoute>> = BTreeMap::new();
        for (&(_, service, instance), m) in self
            .reports
            .range((pe, ServiceId::MIN, InstanceId::MIN)..=(pe, ServiceId::MAX, InstanceId::MAX))
        {
            routes.entry(service).or_default().push(LocalRoute {
                instance,
                metric: m.metric,
                up: m.up,
                weight: m.weight,
            });
        }
        for r in routes.values_mut() {
            r.sort_unstable_by_key(|x| (x.metric, x.instance));
        }
        Lrib { routes }
    }
}

#[cfg(test)]
mod tests;
