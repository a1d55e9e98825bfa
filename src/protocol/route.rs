//! Topic route data (GET_ROUTEINFO_BY_TOPIC) and cluster info (GET_BROKER_CLUSTER_INFO), read
//! from standard JSON and from the Java name server's fastjson output, whose `Map<Long, String>`
//! keys come unquoted (`{0:"10.0.0.1:10911"}`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use thiserror::Error;

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
    pub queue_datas: Vec<QueueData>,
    pub broker_datas: Vec<BrokerData>,
    pub filter_server_table: BTreeMap<String, Vec<String>>,
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
    /// Parses a route body: standard JSON first, then with bare numeric keys quoted.
    pub fn parse(body: &[u8]) -> Result<Self, RouteParseError> {
        parse_lenient(body, "topic route")
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
        if let Some(conf) = self.order_topic_conf.as_deref().filter(|c| !c.is_empty()) {
            for item in conf.split(';') {
                if let Some((broker, n)) = item.split_once(':') {
                    let n: i32 = n.trim().parse().unwrap_or(0);
                    let broker: std::sync::Arc<str> = broker.into();
                    for q in 0..n {
                        out.push(MessageQueue { topic: topic.clone(), broker_name: broker.clone(), queue_id: q });
                    }
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
            for q in 0..qd.write_queue_nums {
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
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
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
            serde_json::from_str(&fixed).map_err(|_| RouteParseError { what, detail: first.to_string() })
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
            let ch = s[i..].chars().next().unwrap();
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
    fn cluster_info_with_bare_keys() {
        let s = r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"C"}},"clusterAddrTable":{"C":["broker-a"]}}"#;
        let c = ClusterInfo::parse(s.as_bytes()).unwrap();
        assert_eq!(c.broker_addr_table["broker-a"].master_addr(), Some("127.0.0.1:10911"));
        assert!(c.cluster_addr_table["C"].contains("broker-a"));
        assert!(ClusterInfo::parse(b"{nope").is_err());
    }
}
