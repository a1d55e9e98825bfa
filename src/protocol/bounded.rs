//! Collections read from a peer's JSON with a bound on their length, checked element by element
//! as they are read: a name server's 16 MiB route of `{},{},…` would otherwise become millions
//! of structs (about 40 times its bytes) before anything could look at it.
//!
//! The limits are far above what a real cluster sends (a route names a few brokers; the Java
//! broker 5.3.3 creates a topic of 2048 queues on one broker when asked, measured) and keep the
//! worst case to a few tens of MB.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Brokers in one route or cluster table (`brokerDatas`, `queueDatas`, `brokerAddrTable`, a
/// cluster's broker names, `filterServerTable`).
pub const MAX_BROKERS: usize = 4096;
/// Addresses of one broker (`brokerAddrs`: the master and its slaves).
pub const MAX_BROKER_ADDRS: usize = 256;
/// Clusters in `clusterAddrTable`.
pub const MAX_CLUSTERS: usize = 256;
/// Write (or read) queues of one topic on one broker. The Java broker sets no bound on
/// creation (`mqadmin updateTopic -w 2048` is taken by 5.3.3; its own largest topic,
/// `RMQ_SYS_BENCHMARK_TOPIC`, has 1024): this one only keeps 2^31-1 out.
pub const MAX_QUEUES_PER_BROKER: i32 = 1 << 16;
/// Queues a producer keeps for one topic, over all its brokers (about 40 bytes each).
pub const MAX_ROUTE_QUEUES: usize = 1 << 20;

/// A sequence of at most `max` elements (`what` names the field in the error).
pub fn seq<'de, D, T>(d: D, max: usize, what: &'static str) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T> {
        max: usize,
        what: &'static str,
        t: PhantomData<T>,
    }
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "a list of at most {} elements", self.max)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(a.size_hint().unwrap_or(0).min(16));
            while let Some(v) = a.next_element()? {
                if out.len() == self.max {
                    return Err(de::Error::custom(format!("{} has more than {} elements", self.what, self.max)));
                }
                out.push(v);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(V { max, what, t: PhantomData })
}

/// A map of at most `max` entries.
pub fn map<'de, D, K, V>(d: D, max: usize, what: &'static str) -> Result<BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    struct M<K, V> {
        max: usize,
        what: &'static str,
        t: PhantomData<(K, V)>,
    }
    impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Visitor<'de> for M<K, V> {
        type Value = BTreeMap<K, V>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an object of at most {} entries", self.max)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<BTreeMap<K, V>, A::Error> {
            let mut out = BTreeMap::new();
            let mut n = 0usize;
            while let Some((k, v)) = a.next_entry()? {
                n += 1;
                if n > self.max {
                    return Err(de::Error::custom(format!("{} has more than {} entries", self.what, self.max)));
                }
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(M { max, what, t: PhantomData })
}

/// A set of strings of at most `max` elements.
pub fn string_set<'de, D: Deserializer<'de>>(
    d: D,
    max: usize,
    what: &'static str,
) -> Result<BTreeSet<String>, D::Error> {
    seq::<D, String>(d, max, what).map(|v| v.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct S {
        #[serde(deserialize_with = "three")]
        v: Vec<u8>,
        #[serde(default, deserialize_with = "two")]
        m: BTreeMap<i64, String>,
    }
    fn three<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        seq(d, 3, "v")
    }
    fn two<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<i64, String>, D::Error> {
        map(d, 2, "m")
    }

    #[test]
    fn bounds_are_checked_as_elements_arrive() {
        let ok: S = serde_json::from_str(r#"{"v":[1,2,3],"m":{"0":"a","1":"b"}}"#).unwrap();
        assert_eq!((ok.v.len(), ok.m.len()), (3, 2));
        let e = serde_json::from_str::<S>(r#"{"v":[1,2,3,4]}"#).unwrap_err().to_string();
        assert!(e.contains("v has more than 3 elements"), "{e}");
        let e = serde_json::from_str::<S>(r#"{"v":[],"m":{"0":"a","1":"b","2":"c"}}"#).unwrap_err().to_string();
        assert!(e.contains("m has more than 2 entries"), "{e}");
    }
}
