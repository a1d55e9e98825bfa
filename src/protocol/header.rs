//! The send request header (SEND_MESSAGE full names, SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE short
//! keys `a`..`n`) and the send response header.

use thiserror::Error;

use crate::remoting::{ExtFields, RequestCode};

/// A header field is missing or does not parse.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HeaderError {
    #[error("the request has no '{0}' header field")]
    Missing(&'static str),
    #[error("header field '{field}' = {value:?} is not a valid {kind}")]
    Invalid { field: &'static str, value: String, kind: &'static str },
}

/// `SendMessageRequestHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SendMessageRequestHeader {
    pub producer_group: String,
    pub topic: String,
    pub default_topic: String,
    pub default_topic_queue_nums: i32,
    pub queue_id: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub flag: i32,
    pub properties: Option<String>,
    pub reconsume_times: Option<i32>,
    pub unit_mode: Option<bool>,
    pub max_reconsume_times: Option<i32>,
    pub batch: Option<bool>,
    pub broker_name: Option<String>,
}

/// (V1 name, V2 key) of every field, in the order of the table in `SendMessageRequestHeaderV2`.
const KEYS: [(&str, &str); 14] = [
    ("producerGroup", "a"),
    ("topic", "b"),
    ("defaultTopic", "c"),
    ("defaultTopicQueueNums", "d"),
    ("queueId", "e"),
    ("sysFlag", "f"),
    ("bornTimestamp", "g"),
    ("flag", "h"),
    ("properties", "i"),
    ("reconsumeTimes", "j"),
    ("unitMode", "k"),
    ("maxReconsumeTimes", "l"),
    ("batch", "m"),
    ("bname", "n"),
];

fn key(i: usize, v2: bool) -> &'static str {
    if v2 {
        KEYS[i].1
    } else {
        KEYS[i].0
    }
}

impl SendMessageRequestHeader {
    /// The header as extFields: short keys when `v2` (codes 310 / 320 / 325), full names otherwise.
    pub fn to_ext_fields(&self, v2: bool) -> ExtFields {
        let mut e = ExtFields::with_capacity(14);
        e.push(key(0, v2), self.producer_group.clone());
        e.push(key(1, v2), self.topic.clone());
        e.push(key(2, v2), self.default_topic.clone());
        e.push(key(3, v2), self.default_topic_queue_nums.to_string());
        e.push(key(4, v2), self.queue_id.to_string());
        e.push(key(5, v2), self.sys_flag.to_string());
        e.push(key(6, v2), self.born_timestamp.to_string());
        e.push(key(7, v2), self.flag.to_string());
        if let Some(p) = &self.properties {
            e.push(key(8, v2), p.clone());
        }
        if let Some(v) = self.reconsume_times {
            e.push(key(9, v2), v.to_string());
        }
        if let Some(v) = self.unit_mode {
            e.push(key(10, v2), v.to_string());
        }
        if let Some(v) = self.max_reconsume_times {
            e.push(key(11, v2), v.to_string());
        }
        if let Some(v) = self.batch {
            e.push(key(12, v2), v.to_string());
        }
        if let Some(v) = &self.broker_name {
            e.push(key(13, v2), v.clone());
        }
        e
    }

    /// Reads the header of a send request: short keys for codes 310 / 320 / 325, full names
    /// otherwise (either set is accepted as a fallback, as lenient brokers do).
    pub fn from_ext_fields(code: i32, e: &ExtFields) -> Result<Self, HeaderError> {
        let v2 = matches!(
            RequestCode::from_code(code),
            Some(RequestCode::SEND_MESSAGE_V2 | RequestCode::SEND_BATCH_MESSAGE | RequestCode::SEND_REPLY_MESSAGE_V2)
        );
        let get = |i: usize| -> Option<&str> { e.get(key(i, v2)).or_else(|| e.get(key(i, !v2))) };
        let req = |i: usize| get(i).ok_or(HeaderError::Missing(KEYS[i].0));
        fn num<T: std::str::FromStr>(i: usize, s: &str) -> Result<T, HeaderError> {
            s.trim().parse().map_err(|_| HeaderError::Invalid {
                field: KEYS[i].0,
                value: s.to_string(),
                kind: "number",
            })
        }
        let opt_num = |i: usize| -> Result<Option<i32>, HeaderError> { get(i).map(|s| num(i, s)).transpose() };
        let opt_bool = |i: usize| -> Result<Option<bool>, HeaderError> {
            get(i)
                .map(|s| match s {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    other => Err(HeaderError::Invalid { field: KEYS[i].0, value: other.to_string(), kind: "boolean" }),
                })
                .transpose()
        };
        Ok(SendMessageRequestHeader {
            producer_group: req(0)?.to_string(),
            topic: req(1)?.to_string(),
            default_topic: get(2).unwrap_or("TBW102").to_string(),
            default_topic_queue_nums: get(3).map(|s| num(3, s)).transpose()?.unwrap_or(4),
            queue_id: num(4, req(4)?)?,
            sys_flag: get(5).map(|s| num(5, s)).transpose()?.unwrap_or(0),
            born_timestamp: get(6).map(|s| num(6, s)).transpose()?.unwrap_or(0),
            flag: get(7).map(|s| num(7, s)).transpose()?.unwrap_or(0),
            properties: get(8).map(str::to_string),
            reconsume_times: opt_num(9)?,
            unit_mode: opt_bool(10)?,
            max_reconsume_times: opt_num(11)?,
            batch: opt_bool(12)?,
            broker_name: get(13).or_else(|| e.get("brokerName")).map(str::to_string),
        })
    }
}

/// `SendMessageResponseHeader`, plus the two extFields the client reads beside it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SendMessageResponseHeader {
    /// The offset message id (comma-joined for batches).
    pub msg_id: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub transaction_id: Option<String>,
    pub batch_uniq_id: Option<String>,
    pub region_id: Option<String>,
    pub trace_on: Option<bool>,
}

impl SendMessageResponseHeader {
    pub fn to_ext_fields(&self) -> ExtFields {
        let mut e = ExtFields::with_capacity(6);
        e.push("msgId", self.msg_id.clone());
        e.push("queueId", self.queue_id.to_string());
        e.push("queueOffset", self.queue_offset.to_string());
        if let Some(t) = &self.transaction_id {
            e.push("transactionId", t.clone());
        }
        if let Some(b) = &self.batch_uniq_id {
            e.push("batchUniqId", b.clone());
        }
        if let Some(r) = &self.region_id {
            e.push("MSG_REGION", r.clone());
        }
        if let Some(t) = self.trace_on {
            e.push("TRACE_ON", t.to_string());
        }
        e
    }

    pub fn from_ext_fields(e: &ExtFields) -> Result<Self, HeaderError> {
        let req = |k: &'static str| e.get(k).ok_or(HeaderError::Missing(k));
        let queue_id = req("queueId")?;
        let queue_offset = req("queueOffset")?;
        Ok(SendMessageResponseHeader {
            msg_id: req("msgId")?.to_string(),
            queue_id: queue_id.parse().map_err(|_| HeaderError::Invalid {
                field: "queueId",
                value: queue_id.into(),
                kind: "number",
            })?,
            queue_offset: queue_offset.parse().map_err(|_| HeaderError::Invalid {
                field: "queueOffset",
                value: queue_offset.into(),
                kind: "number",
            })?,
            transaction_id: e.get("transactionId").map(str::to_string),
            batch_uniq_id: e.get("batchUniqId").map(str::to_string),
            region_id: e.get("MSG_REGION").map(str::to_string),
            trace_on: e.get("TRACE_ON").map(|v| v != "false"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: "PG".into(),
            topic: "T".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 3,
            sys_flag: 0x301,
            born_timestamp: 1_700_000_000_000,
            flag: 0,
            properties: Some("WAIT\u{1}true\u{2}".into()),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: Some(false),
            broker_name: Some("broker-a".into()),
        }
    }

    #[test]
    fn v1_and_v2_round_trip() {
        let h = header();
        let v2 = h.to_ext_fields(true);
        assert_eq!(v2.get("a"), Some("PG"));
        assert_eq!(v2.get("e"), Some("3"));
        assert_eq!(v2.get("n"), Some("broker-a"));
        assert_eq!(SendMessageRequestHeader::from_ext_fields(310, &v2).unwrap(), h);
        let v1 = h.to_ext_fields(false);
        assert_eq!(v1.get("producerGroup"), Some("PG"));
        assert_eq!(v1.get("bname"), Some("broker-a"));
        assert_eq!(SendMessageRequestHeader::from_ext_fields(10, &v1).unwrap(), h);
    }

    #[test]
    fn missing_and_invalid_fields_are_named() {
        let mut e = header().to_ext_fields(true);
        e.remove("e");
        assert_eq!(SendMessageRequestHeader::from_ext_fields(310, &e), Err(HeaderError::Missing("queueId")));
        e.insert("e", "x");
        assert!(matches!(
            SendMessageRequestHeader::from_ext_fields(310, &e),
            Err(HeaderError::Invalid { field: "queueId", .. })
        ));
    }

    #[test]
    fn response_header_round_trip() {
        let r = SendMessageResponseHeader {
            msg_id: "7F00000100002A9F0000000000001234".into(),
            queue_id: 2,
            queue_offset: 99,
            region_id: Some("DefaultRegion".into()),
            trace_on: Some(true),
            ..Default::default()
        };
        assert_eq!(SendMessageResponseHeader::from_ext_fields(&r.to_ext_fields()).unwrap(), r);
        assert!(SendMessageResponseHeader::from_ext_fields(&ExtFields::new()).is_err());
    }
}
