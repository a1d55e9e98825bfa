//! Topic route data (GET_ROUTEINFO_BY_TOPIC) and cluster info (GET_BROKER_CLUSTER_INFO), read
//! from standard JSON and from the Java name server's fastjson output, whose `Map<Long, String>`
//! keys come unquoted (`{0:"10.0.0.1:10911"}`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::bounded;

/// `PermName.PERM_READ`.
pub const PERM_READ: i32 = 4;
/// `PermName.PERM_WRITE`.
pub const PERM_WRITE: i32 = 2;
/// Broker id of a master.
pub const MASTER_ID: i64 = 0;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("cannot parse {what}: {detail}")]
pub struct RouteParseError {
    pub what: &'static str,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    pub broker_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    pub topic_sys_flag: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    pub cluster: String,
    pub broker_name: String,
    /// broker id → `ip:port`; id 0 is the master.
    #[serde(deserialize_with = "broker_addrs")]
    pub broker_addrs: BTreeMap<i64, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
    pub enable_acting_master: bool,
}

impl BrokerData {
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&MASTER_ID).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    #[serde(deserialize_with = "queue_datas")]
    pub queue_datas: Vec<QueueData>,
    #[serde(deserialize_with = "broker_datas")]
    pub broker_datas: Vec<BrokerData>,
    #[serde(deserialize_with = "filter_servers")]
    pub filter_server_table: BTreeMap<String, Vec<String>>,
}

fn broker_addrs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<i64, String>, D::Error> {
    bounded::map(d, bounded::MAX_BROKER_ADDRS, "brokerAddrs")
}
fn queue_datas<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<QueueData>, D::Error> {
    bounded::seq(d, bounded::MAX_BROKERS, "queueDatas")
}
fn broker_datas<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<BrokerData>, D::Error> {
    bounded::seq(d, bounded::MAX_BROKERS, "brokerDatas")
}
fn filter_servers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    struct Servers(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Servers {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            bounded::seq(d, bounded::MAX_BROKER_ADDRS, "filterServerTable's servers").map(Servers)
        }
    }
    let m: BTreeMap<String, Servers> = bounded::map(d, bounded::MAX_BROKERS, "filterServerTable")?;
    Ok(m.into_iter().map(|(k, v)| (k, v.0)).collect())
}
fn broker_addr_table<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, BrokerData>, D::Error> {
    bounded::map(d, bounded::MAX_BROKERS, "brokerAddrTable")
}
fn cluster_addr_table<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, BTreeSet<String>>, D::Error> {
    struct Names(BTreeSet<String>);
    impl<'de> serde::Deserialize<'de> for Names {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            bounded::string_set(d, bounded::MAX_BROKERS, "a cluster's broker names").map(Names)
        }
    }
    let m: BTreeMap<String, Names> = bounded::map(d, bounded::MAX_CLUSTERS, "clusterAddrTable")?;
    Ok(m.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// One queue the producer may write to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageQueue {
    /// Shared with the route's other queues: choosing a queue for a send copies no string.
    pub topic: std::sync::Arc<str>,
    pub broker_name: std::sync::Arc<str>,
    pub queue_id: i32,
}

impl TopicRouteData {
    /// Parses a route body: standard JSON first, then with bare numeric keys quoted; then checks
    /// that what it names stays within mqtui's bounds ([`bounded`]): a route that would make a
    /// producer keep millions of queues is refused, not allocated.
    pub fn parse(body: &[u8]) -> Result<Self, RouteParseError> {
        let route: TopicRouteData = parse_lenient(body, "topic route")?;
        route.check_bounds()?;
        Ok(route)
    }

    /// The queue counts (`writeQueueNums`, `readQueueNums`, `orderTopicConf`'s) are at most
    /// [`bounded::MAX_QUEUES_PER_BROKER`] each and the writable queues at most
    /// [`bounded::MAX_ROUTE_QUEUES`] in all.
    pub fn check_bounds(&self) -> Result<(), RouteParseError> {
        let over = |detail: String| RouteParseError { what: "topic route", detail };
        let max = bounded::MAX_QUEUES_PER_BROKER;
        let mut total = 0usize;
        for qd in &self.queue_datas {
            for (field, n) in [("writeQueueNums", qd.write_queue_nums), ("readQueueNums", qd.read_queue_nums)] {
                if n > max {
                    return Err(over(format!("broker {:?} has {field} {n}, more than {max}", qd.broker_name)));
                }
            }
            total += qd.write_queue_nums.max(0) as usize;
        }
        if let Some(conf) = self.order_topic_conf.as_deref().filter(|c| !c.is_empty()) {
            total = 0;
            for (broker, n) in order_conf_items(conf) {
                if n > max {
                    return Err(over(format!("orderTopicConf gives broker {broker:?} {n} queues, more than {max}")));
                }
                total += n.max(0) as usize;
            }
        }
        if total > bounded::MAX_ROUTE_QUEUES {
            return Err(over(format!("{total} writable queues, more than {}", bounded::MAX_ROUTE_QUEUES)));
        }
        Ok(())
    }

    /// Standard JSON (quoted keys), as name servers answer clients of version ≥ 4.9.4.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("route data serializes")
    }

    /// fastjson's plain `encode()`: numeric map keys unquoted, as name servers answer old clients.
    pub fn to_fastjson(&self) -> String {
        unquote_numeric_keys(&self.to_json())
    }

    /// The master address of `broker_name`.
    pub fn master_addr(&self, broker_name: &str) -> Option<&str> {
        self.broker_datas.iter().find(|b| b.broker_name == broker_name).and_then(BrokerData::master_addr)
    }

    /// The queues a producer writes to (`topicRouteData2TopicPublishInfo`): an order topic's conf
    /// when set; otherwise the writable queues of brokers that have a master, sorted by broker name.
    pub fn publish_queues(&self, topic: &str) -> Vec<MessageQueue> {
        let mut out = Vec::new();
        let topic: std::sync::Arc<str> = topic.into();
        // Bounded whatever the route says (a route made by hand, not parsed, is clamped here too).
        let per_broker = |n: i32| n.clamp(0, bounded::MAX_QUEUES_PER_BROKER);
        if let Some(conf) = self.order_topic_conf.as_deref().filter(|c| !c.is_empty()) {
            for (broker, n) in order_conf_items(conf) {
                let broker: std::sync::Arc<str> = broker.into();
                for q in 0..per_broker(n) {
                    if out.len() == bounded::MAX_ROUTE_QUEUES {
                        return out;
                    }
                    out.push(MessageQueue { topic: topic.clone(), broker_name: broker.clone(), queue_id: q });
                }
            }
            return out;
        }
        let mut qds: Vec<&QueueData> = self.queue_datas.iter().collect();
        qds.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        for qd in qds {
            if qd.perm & PERM_WRITE == 0 {
                continue;
            }
            let Some(bd) = self.broker_datas.iter().find(|b| b.broker_name == qd.broker_name) else {
                continue;
            };
            if bd.master_addr().is_none() {
                continue;
            }
            let broker: std::sync::Arc<str> = qd.broker_name.as_str().into();
            for q in 0..per_broker(qd.write_queue_nums) {
                if out.len() == bounded::MAX_ROUTE_QUEUES {
                    return out;
                }
                out.push(MessageQueue { topic: topic.clone(), broker_name: broker.clone(), queue_id: q });
            }
        }
        out
    }
}

/// GET_BROKER_CLUSTER_INFO body (`ClusterInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    #[serde(deserialize_with = "broker_addr_table")]
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    #[serde(deserialize_with = "cluster_addr_table")]
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

/// `orderTopicConf`'s `broker:n` items (`;`-separated); an unparsable count is 0, as none.
fn order_conf_items(conf: &str) -> impl Iterator<Item = (&str, i32)> {
    conf.split(';').filter_map(|item| item.split_once(':')).map(|(b, n)| (b, n.trim().parse().unwrap_or(0)))
}

impl ClusterInfo {
    pub fn parse(body: &[u8]) -> Result<Self, RouteParseError> {
        parse_lenient(body, "cluster info")
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("cluster info serializes")
    }
    pub fn to_fastjson(&self) -> String {
        unquote_numeric_keys(&self.to_json())
    }
}

fn parse_lenient<T: serde::de::DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, RouteParseError> {
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(first) => {
            let text =
                std::str::from_utf8(body).map_err(|e| RouteParseError { what, detail: format!("not UTF-8: {e}") })?;
            let fixed = quote_numeric_keys(text);
            // The quoted text's error when the first was about the bare keys (a bound broken
            // further on); otherwise the first (its line and column are the peer's).
            serde_json::from_str(&fixed).map_err(|second| {
                let bare_keys = first.to_string().starts_with("key must be a string");
                RouteParseError { what, detail: if bare_keys { second } else { first }.to_string() }
            })
        }
    }
}

/// Quotes bare numeric object keys (`{0:"a",-1:"b"}` → `{"0":"a","-1":"b"}`), leaving strings alone.
pub fn quote_numeric_keys(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 16);
    let mut i = 0;
    let mut in_str = false;
    // Whether the last structural character was `{` or `,` (a key may follow).
    let mut key_pos = false;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\\' && i + 1 < b.len() && b[i + 1].is_ascii() {
                out.push_str(&s[i..i + 2]);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
            let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        match c {
            b'"' => {
                in_str = true;
                key_pos = false;
                out.push('"');
                i += 1;
            }
            b'{' | b',' => {
                key_pos = true;
                out.push(c as char);
                i += 1;
            }
            b' ' | b'\n' | b'\r' | b'\t' => {
                out.push(c as char);
                i += 1;
            }
            b'-' | b'0'..=b'9' if key_pos => {
                let start = i;
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let mut j = i;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < b.len() && b[j] == b':' {
                    out.push('"');
                    out.push_str(&s[start..i]);
                    out.push('"');
                } else {
                    out.push_str(&s[start..i]);
                }
                key_pos = false;
            }
            _ => {
                key_pos = false;
                // Copy one whole UTF-8 character.
                let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
                out.push(ch);
                i += ch.len_utf8().max(1);
            }
        }
    }
    out
}

/// The reverse: unquotes object keys that are integers (`{"0":"a"}` → `{0:"a"}`).
pub fn unquote_numeric_keys(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut in_str = false;
    let mut key_pos = false;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\\' && i + 1 < b.len() && b[i + 1].is_ascii() {
                out.push_str(&s[i..i + 2]);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
            let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        if c == b'"' && key_pos {
            // Look ahead for "-?digits":
            let mut j = i + 1;
            if j < b.len() && b[j] == b'-' {
                j += 1;
            }
            let digits_start = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j > digits_start && j + 1 < b.len() && b[j] == b'"' && b[j + 1] == b':' {
                out.push_str(&s[i + 1..j]);
                i = j + 1;
                key_pos = false;
                continue;
            }
        }
        match c {
            b'"' => in_str = true,
            b'{' | b',' => key_pos = true,
            b' ' | b'\n' | b'\r' | b'\t' => {}
            _ => key_pos = false,
        }
        if c == b'"' {
            key_pos = false;
        }
        out.push(c as char);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAVA_FASTJSON: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false},{"brokerAddrs":{1:"10.0.0.4:10911"},"brokerName":"broker-c","cluster":"DefaultCluster"},{"brokerAddrs":{0:"10.0.0.3:10911"},"brokerName":"broker-b","cluster":"DefaultCluster","zoneName":"z1"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-b","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":2},{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4},{"brokerName":"broker-c","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4},{"brokerName":"broker-r","perm":4,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}],"someFutureField":{"x":[1,2]}}"#;

    #[test]
    fn parses_java_fastjson_with_bare_keys() {
        assert!(serde_json::from_str::<serde_json::Value>(JAVA_FASTJSON).is_err(), "not valid JSON");
        let r = TopicRouteData::parse(JAVA_FASTJSON.as_bytes()).unwrap();
        assert_eq!(r.broker_datas.len(), 3);
        assert_eq!(r.master_addr("broker-a"), Some("10.0.0.1:10911"));
        assert_eq!(r.broker_datas[0].broker_addrs.get(&1).map(String::as_str), Some("10.0.0.2:10911"));
        assert_eq!(r.broker_datas[2].zone_name.as_deref(), Some("z1"));
        // Sorted by broker name, writable only, masters only: a (4 queues) then b (2 queues).
        let q = r.publish_queues("T");
        let names: Vec<_> = q.iter().map(|m| (&*m.broker_name, m.queue_id)).collect();
        assert_eq!(
            names,
            vec![("broker-a", 0), ("broker-a", 1), ("broker-a", 2), ("broker-a", 3), ("broker-b", 0), ("broker-b", 1)]
        );
    }

    #[test]
    fn both_encodings_round_trip() {
        let r = TopicRouteData::parse(JAVA_FASTJSON.as_bytes()).unwrap();
        let std = r.to_json();
        assert!(std.contains(r#""brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"}"#));
        assert_eq!(TopicRouteData::parse(std.as_bytes()).unwrap(), r);
        let fj = r.to_fastjson();
        assert!(fj.contains(r#""brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"}"#), "{fj}");
        assert_eq!(TopicRouteData::parse(fj.as_bytes()).unwrap(), r);
    }

    #[test]
    fn quoting_leaves_strings_alone() {
        let s = r#"{"a":"{0:\"x\",1:2}", 12 : "v", "n":[1,2,{3:4}], "u":"é"}"#;
        let q = quote_numeric_keys(s);
        assert_eq!(q, r#"{"a":"{0:\"x\",1:2}", "12" : "v", "n":[1,2,{"3":4}], "u":"é"}"#);
        let u = unquote_numeric_keys(r#"{"0":"a","b":{"-1":"x"},"c":"\"1\":"}"#);
        assert_eq!(u, r#"{0:"a","b":{-1:"x"},"c":"\"1\":"}"#);
    }

    #[test]
    fn order_topic_conf_wins() {
        let r = TopicRouteData { order_topic_conf: Some("broker-a:2;broker-b:1".into()), ..Default::default() };
        assert_eq!(r.publish_queues("T").len(), 3);
    }

    #[test]
    fn absurd_counts_are_refused_before_anything_is_allocated_for_them() {
        // A hostile name server: 2^31-1 write queues on one broker (the producer would build
        // 2 billion queues), in JSON and fastjson.
        let huge = r#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:1"},"brokerName":"b","cluster":"C"}],"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":4,"writeQueueNums":2147483647}]}"#;
        let e = TopicRouteData::parse(huge.as_bytes()).unwrap_err().to_string();
        assert!(e.contains(r#"broker "b" has writeQueueNums 2147483647, more than 65536"#), "{e}");
        let order = r#"{"orderTopicConf":"b:2147483647","brokerDatas":[],"queueDatas":[]}"#;
        let e = TopicRouteData::parse(order.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("orderTopicConf gives broker \"b\" 2147483647 queues"), "{e}");
        // 65,536 queues on each of 20 brokers: each count allowed, the sum is not.
        let qds: Vec<String> = (0..20)
            .map(|i| format!(r#"{{"brokerName":"b{i}","perm":6,"readQueueNums":4,"writeQueueNums":65536}}"#))
            .collect();
        let many = format!(r#"{{"brokerDatas":[],"queueDatas":[{}]}}"#, qds.join(","));
        let e = TopicRouteData::parse(many.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("1310720 writable queues, more than 1048576"), "{e}");
        // What a Java broker 5.3.3 creates when asked (mqadmin updateTopic -w 2048) is taken.
        let big = r#"{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:1"},"brokerName":"b","cluster":"C"}],"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":2048,"writeQueueNums":2048}]}"#;
        assert_eq!(TopicRouteData::parse(big.as_bytes()).unwrap().publish_queues("T").len(), 2048);
        // A body of empty objects: refused at the bound, not read into millions of brokers.
        let empties = format!(r#"{{"brokerDatas":[{}]}}"#, vec!["{}"; 100_000].join(","));
        let e = TopicRouteData::parse(empties.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("brokerDatas has more than 4096 elements"), "{e}");
        let addrs: Vec<String> = (0..1000).map(|i| format!("{i}:\"a\"")).collect();
        let addrs = format!(r#"{{"brokerDatas":[{{"brokerName":"b","brokerAddrs":{{{}}}}}]}}"#, addrs.join(","));
        let e = TopicRouteData::parse(addrs.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("brokerAddrs has more than 256 entries"), "{e}");
        // A route built by hand is clamped where it is turned into queues.
        let r = TopicRouteData { order_topic_conf: Some("a:2147483647;b:-5;c:x".into()), ..Default::default() };
        assert_eq!(r.publish_queues("T").len(), 65536);
    }

    #[test]
    fn cluster_info_with_bare_keys() {
        let s = r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"C"}},"clusterAddrTable":{"C":["broker-a"]}}"#;
        let c = ClusterInfo::parse(s.as_bytes()).unwrap();
        assert_eq!(c.broker_addr_table["broker-a"].master_addr(), Some("127.0.0.1:10911"));
        assert!(c.cluster_addr_table["C"].contains("broker-a"));
        assert!(ClusterInfo::parse(b"{nope").is_err());
    }
}
