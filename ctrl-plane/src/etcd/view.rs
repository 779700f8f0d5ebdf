//! The control plane's live, typed view of etcd.
//!
//! Every key under the watched prefixes is parsed with [`super::schema`]. A malformed key
//! or value is logged with its key and rejected, and the previous state of that key stays:
//! one bad write never takes a route, a label or a link out of the view.

use std::collections::BTreeMap;

use super::schema::{Key, SchemaError, Value};

/// What applying one change did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The key now has this value (new or changed).
    Put(Key),
    /// The key is gone.
    Deleted(Key),
    /// Same value as before: nothing to recompute.
    Unchanged,
    /// Rejected: the previous state of the key stays.
    Rejected(SchemaError),
}

/// The typed view: every valid key and its value, plus the revision it reflects.
#[derive(Debug, Clone, Default)]
pub struct View {
    entries: BTreeMap<Key, Value>,
    revision: i64,
    rejected: u64,
}

impl View {
    /// An empty view at revision 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a put of `raw` under `key`.
    pub fn put(&mut self, key: &[u8], raw: &[u8]) -> Applied {
        let text = String::from_utf8_lossy(key);
        let parsed = Key::parse(&text).and_then(|k| {
            let v = Value::parse(&k, &text, raw)?;
            Ok((k, v))
        });
        match parsed {
            Ok((k, v)) => {
                if self.entries.get(&k) == Some(&v) {
                    return Applied::Unchanged;
                }
                self.entries.insert(k.clone(), v);
                Applied::Put(k)
            }
            Err(e) => {
                self.rejected += 1;
                tracing::warn!(key = %text, error = %e, "rejected etcd value; previous state kept");
                Applied::Rejected(e)
            }
        }
    }

    /// Applies a delete of `key` (a key the view never accepted is ignored).
    pub fn delete(&mut self, key: &[u8]) -> Applied {
        let text = String::from_utf8_lossy(key);
        match Key::parse(&text) {
            Ok(k) if self.entries.remove(&k).is_some() => Applied::Deleted(k),
            _ => Applied::Unchanged,
        }
    }

    /// Records the etcd revision the view now reflects.
    pub fn set_revision(&mut self, revision: i64) {
        self.revision = self.revision.max(revision);
    }

    /// The etcd revision the view reflects.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// Number of keys or values rejected so far.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// The value under `key`.
    pub fn get(&self, key: &Key) -> Option<&Value> {
        self.entries.get(key)
    }

    /// Every entry, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Value)> {
        self.entries.iter()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd::schema::NodeInfo;

    #[test]
    fn malformed_values_keep_the_previous_state() {
        let mut v = View::new();
        assert!(matches!(
            v.put(b"/node/fabric/r1", b"1,5,,"),
            Applied::Put(_)
        ));
        assert_eq!(v.put(b"/node/fabric/r1", b"1,5,,"), Applied::Unchanged);
        assert!(matches!(
            v.put(b"/node/fabric/r1", b"1,not-a-label,,"),
            Applied::Rejected(_)
        ));
        let k = Key::parse("/node/fabric/r1").unwrap();
        assert_eq!(
            v.get(&k),
            Some(&Value::Node(NodeInfo {
                site: 1,
                label: 5,
                location: None
            }))
        );
        assert!(matches!(v.put(b"/bogus/key", b"x"), Applied::Rejected(_)));
        assert!(matches!(
            v.put(b"/srgb/r1", b"2000000,10"),
            Applied::Rejected(_)
        ));
        assert_eq!(v.rejected(), 3);
        assert_eq!(v.len(), 1);
        assert_eq!(v.delete(b"/bogus/key"), Applied::Unchanged);
        assert!(matches!(v.delete(b"/node/fabric/r1"), Applied::Deleted(_)));
        assert!(v.is_empty());
    }
}
