//! Security keys with rekey windows (seed `000_*`, "Security Key"):
//!
//! - `/key/<SystemName>`: a node key;
//! - `/key/socket/<SRoU locator>`: a per-socket key (the locator keeps its own `/`s:
//!   `SystemName/Color/LocalIP:Port/PublicIP:Port/LocalInterface/TXBW/RXBW`);
//! - `/key/session/<src locator>-><dst locator>`: a per-session-pair key.
//!
//! A node named `socket` or `session` has its node key at `/key/socket` or `/key/session`
//! (nothing after). Locators are kept as opaque strings (1 to 512 printable ASCII bytes),
//! not interpreted here.
//!
//! The value is `Key1,Key2,...`: 1 to 8 distinct keys, oldest first, each 1 to 1024
//! printable ASCII bytes without `,` or spaces (hex, base64...). The **last** is the
//! newest, the one to send with ([`KeyRing::newest`]). Errors never quote key material.
//!
//! # Rekey window
//!
//! "During Rekey, the node must update both OldKey and newKey to the KV Store and accept
//! both Key in a while". A [`KeyRing`] of window `W` accepts:
//! - the newest listed key, for as long as it is the newest;
//! - any other key listed or formerly listed, until `W` after it was **superseded**: the
//!   first time a later key was listed after it (`K1` → `K1,K2` starts `K1`'s window, as
//!   does `K1` → `K2`), or it was dropped from the value, whichever came first. A ring
//!   created from `K1,K2` starts `K1`'s window at once.
//!
//! So a node rekeys by publishing `K1,K2` (or just `K2`): `K1` is still accepted for `W`
//! whatever the node publishes next, and never after, even if it stays listed. Rolling
//! back (`K2` → `K1`) makes `K1` the newest again. A key no longer listed is forgotten
//! once its window is over (a later listing makes it a new key); one still listed stays
//! known, and refused. Time is passed in (`now`), never read.
//! Deleting the etcd key (or its lease expiring) revokes the ring at once
//! ([`KeyRings::revoke`]): deletion is revocation, not rotation.

use core::fmt;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{quoted, PolicyError};

/// Where keys live.
pub const PREFIX: &str = "/key/";
/// Most keys one value lists.
pub const MAX_KEYS: usize = 8;
/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 1024;
/// Longest locator (or system name) in a key path.
pub const MAX_LOCATOR_LEN: usize = 512;
/// Longest rekey window (longer ones are cut to it).
pub const MAX_WINDOW: Duration = Duration::from_secs(365 * 24 * 3600);

/// What a key protects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyScope {
    /// `/key/<SystemName>`.
    Node(String),
    /// `/key/socket/<locator>`.
    Socket(String),
    /// `/key/session/<src>-><dst>`.
    Session {
        /// Source locator.
        src: String,
        /// Destination locator.
        dst: String,
    },
}

impl fmt::Display for KeyScope {
    /// The etcd key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyScope::Node(n) => write!(f, "{PREFIX}{n}"),
            KeyScope::Socket(l) => write!(f, "{PREFIX}socket/{l}"),
            KeyScope::Session { src, dst } => write!(f, "{PREFIX}session/{src}->{dst}"),
        }
    }
}

fn printable(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Parses a key path (module documentation).
pub fn parse_key_path(key: &str) -> Result<KeyScope, PolicyError> {
    let rest = key.strip_prefix(PREFIX).ok_or_else(|| {
        PolicyError::key(
            key,
            "/key/<SystemName>, /key/socket/<locator> or /key/session/<src>-><dst>",
            quoted(key),
        )
    })?;
    let locator = |s: &str| {
        if printable(s, MAX_LOCATOR_LEN) {
            Ok(s.to_string())
        } else {
            Err(PolicyError::key(
                key,
                "an SRoU locator of 1 to 512 printable ASCII bytes",
                quoted(s),
            ))
        }
    };
    if let Some(l) = rest.strip_prefix("socket/") {
        return Ok(KeyScope::Socket(locator(l)?));
    }
    if let Some(pair) = rest.strip_prefix("session/") {
        let mut it = pair.split("->");
        return match (it.next(), it.next(), it.next()) {
            (Some(src), Some(dst), None) => Ok(KeyScope::Session {
                src: locator(src)?,
                dst: locator(dst)?,
            }),
            _ => Err(PolicyError::key(
                key,
                "/key/session/<src locator>-><dst locator> (one `->`)",
                quoted(pair),
            )),
        };
    }
    if !printable(rest, MAX_LOCATOR_LEN) || rest.contains('/') {
        return Err(PolicyError::key(
            key,
            "a SystemName (printable ASCII, no `/`) after /key/, or socket/... or session/...",
            quoted(rest),
        ));
    }
    Ok(KeyScope::Node(rest.to_string()))
}

/// A secret key. Its `Debug` shows its length only; it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(String);

impl Key {
    /// A key from its text (`None` if it is not 1 to 1024 printable ASCII bytes without
    /// `,`).
    pub fn new(s: &str) -> Option<Key> {
        (printable(s, MAX_KEY_LEN) && !s.contains(',')).then(|| Key(s.to_string()))
    }

    /// The key material.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares with `other` in time independent of where they differ.
    pub fn matches(&self, other: &[u8]) -> bool {
        let a = self.0.as_bytes();
        a.len() == other.len() && a.iter().zip(other).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(<{} bytes>)", self.0.len())
    }
}

/// Parses `Key1,Key2,...` (the value of `key`).
pub fn parse_key_value(key: &str, value: &str) -> Result<Vec<Key>, PolicyError> {
    parse_keys(key, value.split(','))
}

/// Checks keys already split (e.g. the etcd schema's `Value::Keys`), oldest first, with
/// the rules of [`parse_key_value`]; `key` is the etcd key, for errors.
pub fn parse_keys<'a>(
    key: &str,
    items: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Key>, PolicyError> {
    let parts: Vec<&str> = items.into_iter().map(str::trim).collect();
    if parts.len() > MAX_KEYS {
        return Err(PolicyError::value(
            key,
            format!("1 to {MAX_KEYS} keys separated by `,`"),
            format!("{} keys", parts.len()),
        ));
    }
    let mut out: Vec<Key> = Vec::with_capacity(parts.len());
    for (i, p) in parts.iter().enumerate() {
        let k = Key::new(p).ok_or_else(|| {
            PolicyError::value(
                key,
                "keys of 1 to 1024 printable ASCII bytes separated by `,` (e.g. \"Key1,Key2\")",
                format!(
                    "key {} of {} with {} bytes{}",
                    i + 1,
                    parts.len(),
                    p.len(),
                    if p.bytes().all(|b| b.is_ascii_graphic()) {
                        ""
                    } else {
                        ", not all printable"
                    }
                ),
            )
        })?;
        if let Some(j) = out.iter().position(|o| *o == k) {
            return Err(PolicyError::value(
                key,
                "distinct keys",
                format!("key {} repeating key {}", i + 1, j + 1),
            ));
        }
        out.push(k);
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: Key,
    /// Listed in the current value.
    listed: bool,
    /// Accepted strictly before this instant; `None`: the newest, no deadline.
    until: Option<Instant>,
}

/// The keys of one scope, with their rekey windows (module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRing {
    window: Duration,
    entries: Vec<Entry>,
}

impl KeyRing {
    /// An empty ring (accepts nothing) whose superseded keys live `window` longer (at
    /// most [`MAX_WINDOW`]).
    pub fn new(window: Duration) -> KeyRing {
        KeyRing {
            window: window.min(MAX_WINDOW),
            entries: Vec::new(),
        }
    }

    /// The rekey window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Applies a new value (parsed with [`parse_key_value`]) at `now`. An empty list
    /// supersedes every key (each stays accepted for the window); [`KeyRings::revoke`]
    /// drops them at once.
    pub fn set(&mut self, keys: Vec<Key>, now: Instant) {
        // Fail closed: a deadline beyond what `Instant` holds is `now`.
        let deadline = now.checked_add(self.window).unwrap_or(now);
        let newest = keys.last();
        for e in &mut self.entries {
            e.listed = keys.contains(&e.key);
            if e.listed && Some(&e.key) == newest {
                // The newest (unchanged, or again after a rollback): no deadline.
                e.until = None;
            } else if e.until.is_none() {
                // Superseded by a later key, or dropped from the value: its window starts.
                e.until = Some(deadline);
            }
        }
        for (i, k) in keys.iter().enumerate() {
            if !self.entries.iter().any(|e| e.key == *k) {
                self.entries.push(Entry {
                    key: k.clone(),
                    listed: true,
                    until: (i + 1 < keys.len()).then_some(deadline),
                });
            }
        }
        self.expire(now);
    }

    /// Parses `value` (`Key1,Key2`) and applies it; on error the ring is unchanged.
    pub fn update(&mut self, etcd_key: &str, value: &str, now: Instant) -> Result<(), PolicyError> {
        let keys = parse_key_value(etcd_key, value)?;
        self.set(keys, now);
        Ok(())
    }

    /// True if `key` is accepted at `now`.
    pub fn accepts(&self, key: &[u8], now: Instant) -> bool {
        // Every entry is compared, so the time taken does not say which one matched.
        self.entries.iter().fold(false, |acc, e| {
            acc | (e.key.matches(key) && e.until.is_none_or(|u| now < u))
        })
    }

    /// The key to send with: the newest listed key, if any.
    pub fn newest(&self) -> Option<&Key> {
        self.entries
            .iter()
            .find(|e| e.listed && e.until.is_none())
            .map(|e| &e.key)
    }

    /// The keys accepted at `now`, oldest first.
    pub fn accepted(&self, now: Instant) -> impl Iterator<Item = &Key> {
        self.entries
            .iter()
            .filter(move |e| e.until.is_none_or(|u| now < u))
            .map(|e| &e.key)
    }

    /// When the next accepted key stops being accepted (for the caller's timer).
    pub fn next_expiry(&self, now: Instant) -> Option<Instant> {
        self.entries
            .iter()
            .filter_map(|e| e.until)
            .filter(|u| now < *u)
            .min()
    }

    /// Forgets the keys whose window is over and that are no longer listed; returns how
    /// many. (A listed key past its window stays known, still refused, so that listing
    /// it again does not restart its window.)
    pub fn expire(&mut self, now: Instant) -> usize {
        let before = self.entries.len();
        self.entries
            .retain(|e| e.listed || e.until.is_none_or(|u| now < u));
        before - self.entries.len()
    }

    /// True when nothing is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Every key ring, by scope, with one rekey window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRings {
    window: Duration,
    rings: BTreeMap<KeyScope, KeyRing>,
}

impl KeyRings {
    /// No ring yet; superseded keys live `window` longer.
    pub fn new(window: Duration) -> KeyRings {
        KeyRings {
            window,
            rings: BTreeMap::new(),
        }
    }

    /// Applies a value to the ring of `scope` (created if needed).
    pub fn set(&mut self, scope: KeyScope, keys: Vec<Key>, now: Instant) {
        let w = self.window;
        self.rings
            .entry(scope)
            .or_insert_with(|| KeyRing::new(w))
            .set(keys, now);
    }

    /// Revokes a ring at once (its key was deleted); false if unknown.
    pub fn revoke(&mut self, scope: &KeyScope) -> bool {
        self.rings.remove(scope).is_some()
    }

    /// The ring of `scope`.
    pub fn get(&self, scope: &KeyScope) -> Option<&KeyRing> {
        self.rings.get(scope)
    }

    /// True if `scope`'s ring accepts `key` at `now`.
    pub fn accepts(&self, scope: &KeyScope, key: &[u8], now: Instant) -> bool {
        self.get(scope).is_some_and(|r| r.accepts(key, now))
    }

    /// Runs [`KeyRing::expire`] on every ring; returns how many keys were forgotten.
    pub fn expire(&mut self, now: Instant) -> usize {
        self.rings.values_mut().map(|r| r.expire(now)).sum()
    }

    /// The earliest [`KeyRing::next_expiry`] of all rings.
    pub fn next_expiry(&self, now: Instant) -> Option<Instant> {
        self.rings.values().filter_map(|r| r.next_expiry(now)).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn k(s: &str) -> Key {
        Key::new(s).unwrap()
    }

    fn keys(v: &str) -> Vec<Key> {
        parse_key_value("/key/n", v).unwrap()
    }

    const W: Duration = Duration::from_secs(30);

    fn at(t0: Instant, secs: f64) -> Instant {
        t0 + Duration::from_secs_f64(secs)
    }

    #[test]
    fn parses_paths() {
        assert_eq!(parse_key_path("/key/r1"), Ok(KeyScope::Node("r1".into())));
        let loc = "r1/0/10.0.0.1:8811/203.0.113.1:40000/eth0/100/100";
        assert_eq!(
            parse_key_path(&format!("/key/socket/{loc}")),
            Ok(KeyScope::Socket(loc.into()))
        );
        let other = "r2/0/10.0.0.2:8811/198.51.100.2:8811/eth1/10/10";
        let s = parse_key_path(&format!("/key/session/{loc}->{other}")).unwrap();
        assert_eq!(
            s,
            KeyScope::Session {
                src: loc.into(),
                dst: other.into()
            }
        );
        assert_eq!(s.to_string(), format!("/key/session/{loc}->{other}"));
        // A node named "socket" or "session".
        assert_eq!(
            parse_key_path("/key/socket"),
            Ok(KeyScope::Node("socket".into()))
        );
        assert_eq!(
            parse_key_path("/key/session"),
            Ok(KeyScope::Node("session".into()))
        );

        let e = |p: &str| parse_key_path(p).unwrap_err().to_string();
        assert!(e("/key/").contains("expected a SystemName"));
        assert!(e("/key/r1/x").contains("expected a SystemName"));
        assert!(e("/key/r 1").contains("expected a SystemName"));
        assert!(e("/key/socket/").contains("expected an SRoU locator of 1 to 512"));
        assert!(e(&format!("/key/socket/{}", "x".repeat(513))).contains("SRoU locator"));
        assert_eq!(
            e("/key/session/a->b->c"),
            "key \"/key/session/a->b->c\": expected /key/session/<src locator>-><dst \
             locator> (one `->`), got \"a->b->c\""
        );
        assert!(e("/key/session/ab").contains("(one `->`)"));
        assert!(e("/key/session/->b").contains("SRoU locator"));
        assert!(e("/keys/r1").contains("expected /key/<SystemName>"));
    }

    #[test]
    fn parses_values_without_quoting_secrets() {
        assert_eq!(keys("s3cret, n3w").len(), 2);
        assert_eq!(keys("s3cret")[0].expose(), "s3cret");
        let split = ["old".to_string(), "new".to_string()];
        let ks = parse_keys("/key/n", split.iter().map(String::as_str)).unwrap();
        assert_eq!(ks, [k("old"), k("new")]);
        assert!(parse_keys("/key/n", ["a", "a"]).is_err());
        let e = |v: &str| parse_key_value("/key/n", v).unwrap_err().to_string();
        assert_eq!(
            e("s3cret,,n3w"),
            "value of \"/key/n\": expected keys of 1 to 1024 printable ASCII bytes separated \
             by `,` (e.g. \"Key1,Key2\"), got key 2 of 3 with 0 bytes"
        );
        assert!(e("").contains("got key 1 of 1 with 0 bytes"));
        assert!(e("s3cret,n3w s3cret").ends_with("got key 2 of 2 with 10 bytes, not all printable"));
        assert!(!e("s3cret,n3w s3cret").contains("s3cret"));
        assert_eq!(
            e("s3cret,n3w,s3cret"),
            "value of \"/key/n\": expected distinct keys, got key 3 repeating key 1"
        );
        assert!(e(&"a,".repeat(8)).contains("expected 1 to 8 keys separated by `,`, got 9 keys"));
        assert!(e(&"x".repeat(1025)).contains("with 1025 bytes"));
        assert_eq!(format!("{:?}", k("s3cret")), "Key(<6 bytes>)");
        assert!(k("abc").matches(b"abc"));
        assert!(!k("abc").matches(b"abd"));
        assert!(!k("abc").matches(b"ab"));
        assert!(Key::new("a,b").is_none());
    }

    #[test]
    fn rekey_keeps_the_old_key_for_the_window_only() {
        let t0 = Instant::now();
        let mut r = KeyRing::new(W);
        assert!(!r.accepts(b"K1", t0));
        r.set(keys("K1"), t0);
        assert!(r.accepts(b"K1", at(t0, 1e6)), "the newest never expires");
        assert_eq!(r.next_expiry(t0), None);

        // t0+10: rekey, both published. K1's window starts now.
        r.set(keys("K1,K2"), at(t0, 10.0));
        assert_eq!(r.newest().map(Key::expose), Some("K2"));
        assert!(r.accepts(b"K1", at(t0, 39.9)));
        assert!(r.accepts(b"K2", at(t0, 39.9)));
        assert_eq!(r.next_expiry(at(t0, 10.0)), Some(at(t0, 40.0)));
        // Rewriting the same value (a lease refresh) does not extend K1.
        r.set(keys("K1,K2"), at(t0, 20.0));
        assert!(!r.accepts(b"K1", at(t0, 40.0)));
        assert!(r.accepts(b"K2", at(t0, 40.0)));
        // Still listed but past its window: refused, and listing it again (not newest)
        // does not restart it.
        r.set(keys("K1,K2"), at(t0, 50.0));
        assert!(!r.accepts(b"K1", at(t0, 50.0)));
        assert_eq!(
            r.accepted(at(t0, 50.0))
                .map(Key::expose)
                .collect::<Vec<_>>(),
            ["K2"]
        );
        // Dropped from the value: forgotten.
        r.set(keys("K2"), at(t0, 60.0));
        assert!(!r.accepts(b"K1", at(t0, 60.0)));
        assert_eq!(r.accepted(at(t0, 60.0)).count(), 1);
        assert_eq!(r.expire(at(t0, 60.0)), 0, "set() already expired it");
        assert_eq!(r.entries.len(), 1);

        // Direct replacement: K2 -> K3 at t0+100; K2 accepted until t0+130.
        r.set(keys("K3"), at(t0, 100.0));
        assert!(r.accepts(b"K2", at(t0, 129.0)));
        assert!(!r.accepts(b"K2", at(t0, 130.0)));
        // The window of a superseded key does not restart when it is dropped later.
        r.set(keys("K3,K4"), at(t0, 110.0));
        r.set(keys("K4"), at(t0, 135.0));
        assert!(r.accepts(b"K3", at(t0, 139.9)), "window from t0+110");
        assert!(!r.accepts(b"K3", at(t0, 140.0)));
        assert_eq!(r.expire(at(t0, 140.0)), 1);
        assert!(!r.accepts(b"K9", at(t0, 140.0)));

        // Rollback: K4 -> K3 makes K3 the newest again, K4 gets a window.
        r.set(keys("K3"), at(t0, 200.0));
        assert_eq!(r.newest().map(Key::expose), Some("K3"));
        assert!(r.accepts(b"K3", at(t0, 1000.0)));
        assert!(r.accepts(b"K4", at(t0, 229.0)));
        assert!(!r.accepts(b"K4", at(t0, 230.0)));
    }

    #[test]
    fn a_ring_created_mid_rekey_and_errors() {
        let t0 = Instant::now();
        let mut r = KeyRing::new(W);
        r.update("/key/n", "K1,K2", t0).unwrap();
        assert!(r.accepts(b"K1", at(t0, 29.0)));
        assert!(!r.accepts(b"K1", at(t0, 30.0)));
        // A bad value changes nothing.
        let before = r.clone();
        assert!(r.update("/key/n", "K3,,", at(t0, 1.0)).is_err());
        assert_eq!(r, before);
        // An empty list supersedes everything.
        r.set(Vec::new(), at(t0, 5.0));
        assert_eq!(r.newest(), None);
        assert!(r.accepts(b"K2", at(t0, 34.0)));
        assert!(!r.accepts(b"K2", at(t0, 35.0)));
        assert_eq!(r.expire(at(t0, 35.0)), 2);
        assert!(r.is_empty());
        // Absurd windows are capped, and a deadline past what Instant holds fails closed.
        assert_eq!(KeyRing::new(Duration::MAX).window(), MAX_WINDOW);
    }

    #[test]
    fn rings_by_scope_and_revocation() {
        let t0 = Instant::now();
        let mut rs = KeyRings::new(W);
        let a = KeyScope::Node("r1".into());
        let b = KeyScope::Socket("r1/0/1.1.1.1:1/1.1.1.1:1/e/1/1".into());
        rs.set(a.clone(), keys("A1"), t0);
        rs.set(b.clone(), keys("B1"), t0);
        rs.set(a.clone(), keys("A2"), at(t0, 1.0));
        assert!(rs.accepts(&a, b"A1", at(t0, 2.0)));
        assert!(!rs.accepts(&a, b"B1", at(t0, 2.0)), "rings are separate");
        assert!(rs.accepts(&b, b"B1", at(t0, 2.0)));
        assert_eq!(rs.next_expiry(at(t0, 2.0)), Some(at(t0, 31.0)));
        assert_eq!(rs.expire(at(t0, 31.0)), 1);
        assert!(rs.revoke(&b));
        assert!(!rs.revoke(&b));
        assert!(!rs.accepts(&b, b"B1", at(t0, 2.0)), "revoked at once");
        assert_eq!(
            rs.get(&a).and_then(KeyRing::newest).map(Key::expose),
            Some("A2")
        );
    }

    proptest! {
        /// Invariants over random value sequences: the newest listed key is accepted; a
        /// key never published never is; no key other than the newest is accepted `W` or
        /// more after it stopped being the newest listed one.
        #[test]
        fn window_invariants(
            steps in prop::collection::vec(
                (0u64..20_000, prop::collection::vec(0u8..5, 1..4)),
                1..30,
            ),
            probe in 0u64..40_000,
        ) {
            let t0 = Instant::now();
            let mut r = KeyRing::new(W);
            let mut t = t0;
            let mut newest_since: BTreeMap<u8, Option<Instant>> = BTreeMap::new();
            let mut last_newest: Option<u8> = None;
            for (dt, list) in steps {
                t += Duration::from_millis(dt);
                let mut uniq: Vec<u8> = Vec::new();
                for x in list {
                    if !uniq.contains(&x) {
                        uniq.push(x);
                    }
                }
                let ks: Vec<Key> = uniq.iter().map(|x| k(&format!("k{x}"))).collect();
                r.set(ks, t);
                let newest = *uniq.last().expect("non-empty");
                // Track when each key last stopped being the newest listed key.
                for (key, since) in newest_since.iter_mut() {
                    if *key != newest && since.is_none() {
                        *since = Some(t);
                    }
                }
                newest_since.insert(newest, None);
                for x in &uniq {
                    newest_since.entry(*x).or_insert(Some(t));
                }
                // Keys unlisted and past their window are forgotten (a later listing is a
                // new key).
                newest_since.retain(|key, since| {
                    uniq.contains(key) || since.is_none_or(|s| t < s + W)
                });
                last_newest = Some(newest);
                let now = t + Duration::from_millis(probe);
                let n = format!("k{newest}");
                prop_assert!(r.accepts(n.as_bytes(), now));
                prop_assert_eq!(r.newest().map(Key::expose), Some(n.as_str()));
                prop_assert!(!r.accepts(b"k9", now));
                for (key, since) in &newest_since {
                    if let Some(s) = since {
                        if now >= *s + W {
                            let name = format!("k{key}");
                            prop_assert!(!r.accepts(name.as_bytes(), now), "{} at {:?}", name, now - t0);
                        }
                    }
                }
            }
            prop_assert!(last_newest.is_some());
        }
    }
}
