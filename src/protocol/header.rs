//! The send request header (SEND_MESSAGE full names, SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE short
//! keys `a`..`n`) and the send response header.

use thiserror::Error;

use crate::remoting::{ExtFields, RequestCode};

/// A header field is missing or does not parse.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// Absent, and the Java decoder requires it (`@CFNotNull`, SEND_MESSAGE).
    #[error("the request has no '{0}' header field")]
    Missing(&'static str),
    #[error("header field '{field}' = {value:?} is not a valid {kind}")]
    Invalid { field: &'static str, value: String, kind: &'static str },
    /// Absent or unparsable where the Java broker leaves the field null and then fails on it
    /// (a NullPointerException when the send uses it).
    #[error("header field '{0}' is absent or not a number")]
    Null(&'static str),
}

impl HeaderError {
    /// What the Java broker 5.3.3 (on JDK 17) answers such a header with: SYSTEM_ERROR and this
    /// remark (`UtilAll.exceptionSimpleDesc`: the exception and its first stack frame), as
    /// measured against it (tests/apache.rs runs the same header table against both).
    pub fn java_remark(&self) -> String {
        match self {
            HeaderError::Missing(f) => crate::remoting::java::null_field_remark(f),
            HeaderError::Invalid { value, .. } => crate::remoting::java::number_format_remark(value),
            HeaderError::Null(f) => crate::remoting::java::null_send_field_remark(f),
        }
    }
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

/// The fields of a [`SendMessageRequestHeader`] as the send path has them: borrowed, the
/// properties string moved in, so that building the header writes each value once, as its JSON
/// ([`ExtFields::build_json`]: the frame encoder copies it whole).
#[derive(Debug, Clone)]
pub struct SendHeaderFields<'a> {
    pub producer_group: &'a str,
    pub topic: &'a str,
    pub default_topic: &'a str,
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
    pub broker_name: Option<&'a str>,
}

impl SendHeaderFields<'_> {
    /// The header as extFields: short keys when `v2` (codes 310 / 320 / 325), full names otherwise.
    pub fn to_ext_fields(self, v2: bool) -> ExtFields {
        let flag = |b: bool| if b { "true" } else { "false" };
        // The strings, the numbers and the punctuation; the properties' separators are escaped.
        let likely = 160
            + self.producer_group.len()
            + self.topic.len()
            + self.default_topic.len()
            + self.broker_name.map_or(0, str::len)
            + self.properties.as_ref().map_or(0, |p| 2 * p.len());
        ExtFields::build_json(14, likely, |e| {
            e.str(key(0, v2), self.producer_group);
            e.str(key(1, v2), self.topic);
            e.str(key(2, v2), self.default_topic);
            e.int(key(3, v2), self.default_topic_queue_nums);
            e.int(key(4, v2), self.queue_id);
            e.int(key(5, v2), self.sys_flag);
            e.int(key(6, v2), self.born_timestamp);
            e.int(key(7, v2), self.flag);
            if let Some(p) = self.properties {
                e.string(key(8, v2), p);
            }
            if let Some(v) = self.reconsume_times {
                e.int(key(9, v2), v);
            }
            if let Some(v) = self.unit_mode {
                e.str(key(10, v2), flag(v));
            }
            if let Some(v) = self.max_reconsume_times {
                e.int(key(11, v2), v);
            }
            if let Some(v) = self.batch {
                e.str(key(12, v2), flag(v));
            }
            if let Some(v) = self.broker_name {
                e.str(key(13, v2), v);
            }
        })
    }
}

impl SendMessageRequestHeader {
    /// The header as extFields: short keys when `v2` (codes 310 / 320 / 325), full names otherwise.
    pub fn to_ext_fields(&self, v2: bool) -> ExtFields {
        SendHeaderFields {
            producer_group: &self.producer_group,
            topic: &self.topic,
            default_topic: &self.default_topic,
            default_topic_queue_nums: self.default_topic_queue_nums,
            queue_id: self.queue_id,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            flag: self.flag,
            properties: self.properties.clone(),
            reconsume_times: self.reconsume_times,
            unit_mode: self.unit_mode,
            max_reconsume_times: self.max_reconsume_times,
            batch: self.batch,
            broker_name: self.broker_name.as_deref(),
        }
        .to_ext_fields(v2)
    }

    /// Reads the header of a send request as the Java broker does
    /// (`SendMessageRequestHeader.parseRequestHeader`): short keys for codes 310 / 320 / 325
    /// (`SendMessageRequestHeaderV2.decode`), full names otherwise (reflection, `@CFNotNull`).
    /// Booleans are `Boolean.parseBoolean`, numbers `Integer.parseInt` (they may have come as
    /// JSON numbers), unknown fields are ignored, and what Java rejects is an error whose
    /// [`HeaderError::java_remark`] is the Java broker's.
    pub fn from_ext_fields(code: i32, e: &ExtFields) -> Result<Self, HeaderError> {
        let v2 = matches!(
            RequestCode::from_code(code),
            Some(RequestCode::SEND_MESSAGE_V2 | RequestCode::SEND_BATCH_MESSAGE | RequestCode::SEND_REPLY_MESSAGE_V2)
        );
        if v2 {
            Self::from_v2(e)
        } else {
            Self::from_v1(e)
        }
    }

    /// `SendMessageRequestHeaderV2.decode`: an absent field is only logged (null); a number that
    /// does not parse throws NumberFormatException. The broker then fails on a null queueId,
    /// sysFlag, bornTimestamp, flag or topic; the others it does without.
    fn from_v2(e: &ExtFields) -> Result<Self, HeaderError> {
        let get = |i: usize| e.get(KEYS[i].1);
        let int = |i: usize| -> Result<Option<i32>, HeaderError> {
            get(i)
                .map(|s| {
                    crate::remoting::java::parse_int(s).ok_or_else(|| HeaderError::Invalid {
                        field: KEYS[i].0,
                        value: s.to_string(),
                        kind: "number",
                    })
                })
                .transpose()
        };
        let required = |i: usize, v: Option<i32>| v.ok_or(HeaderError::Null(KEYS[i].0));
        let born = get(6)
            .map(|s| {
                crate::remoting::java::parse_long(s).ok_or_else(|| HeaderError::Invalid {
                    field: KEYS[6].0,
                    value: s.to_string(),
                    kind: "number",
                })
            })
            .transpose()?;
        Ok(SendMessageRequestHeader {
            producer_group: get(0).unwrap_or_default().to_string(),
            topic: get(1).ok_or(HeaderError::Null(KEYS[1].0))?.to_string(),
            default_topic: get(2).unwrap_or("TBW102").to_string(),
            default_topic_queue_nums: int(3)?.unwrap_or(4),
            queue_id: required(4, int(4)?)?,
            sys_flag: required(5, int(5)?)?,
            born_timestamp: born.ok_or(HeaderError::Null(KEYS[6].0))?,
            flag: required(7, int(7)?)?,
            properties: get(8).map(str::to_string),
            reconsume_times: int(9)?,
            unit_mode: get(10).map(crate::remoting::java::parse_boolean),
            max_reconsume_times: int(11)?,
            batch: get(12).map(crate::remoting::java::parse_boolean),
            broker_name: get(13).map(str::to_string),
        })
    }

    /// `decodeCommandCustomHeader(SendMessageRequestHeader.class)` (reflection): an absent
    /// `@CFNotNull` field and a number that does not parse are both logged and left null (the
    /// check throws inside the per-field catch), and the broker then fails on a null queueId,
    /// sysFlag, bornTimestamp, flag or topic.
    fn from_v1(e: &ExtFields) -> Result<Self, HeaderError> {
        let get = |i: usize| e.get(KEYS[i].0);
        let int = |i: usize| get(i).and_then(crate::remoting::java::parse_int);
        let required = |i: usize, v: Option<i32>| v.ok_or(HeaderError::Null(KEYS[i].0));
        Ok(SendMessageRequestHeader {
            producer_group: get(0).unwrap_or_default().to_string(),
            topic: get(1).ok_or(HeaderError::Null(KEYS[1].0))?.to_string(),
            default_topic: get(2).unwrap_or("TBW102").to_string(),
            default_topic_queue_nums: int(3).unwrap_or(4),
            queue_id: required(4, int(4))?,
            sys_flag: required(5, int(5))?,
            born_timestamp: get(6).and_then(crate::remoting::java::parse_long).ok_or(HeaderError::Null(KEYS[6].0))?,
            flag: required(7, int(7))?,
            properties: get(8).map(str::to_string),
            reconsume_times: int(9),
            unit_mode: get(10).map(crate::remoting::java::parse_boolean),
            max_reconsume_times: int(11),
            batch: get(12).map(crate::remoting::java::parse_boolean),
            broker_name: get(13).map(str::to_string),
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
        e.push_str("msgId", &self.msg_id);
        e.push_int("queueId", self.queue_id);
        e.push_int("queueOffset", self.queue_offset);
        if let Some(t) = &self.transaction_id {
            e.push_str("transactionId", t);
        }
        if let Some(b) = &self.batch_uniq_id {
            e.push_str("batchUniqId", b);
        }
        if let Some(r) = &self.region_id {
            e.push_str("MSG_REGION", r);
        }
        if let Some(t) = self.trace_on {
            e.push_str("TRACE_ON", if t { "true" } else { "false" });
        }
        e
    }

    pub fn from_ext_fields(e: &ExtFields) -> Result<Self, HeaderError> {
        // One pass over the fields (this runs once per send; a lookup per key was seven scans).
        let (mut msg_id, mut queue_id, mut queue_offset) = (None, None, None);
        let (mut transaction_id, mut batch_uniq_id, mut region_id, mut trace_on) = (None, None, None, None);
        for (k, v) in e.iter() {
            let slot = match k {
                "msgId" => &mut msg_id,
                "queueId" => &mut queue_id,
                "queueOffset" => &mut queue_offset,
                "transactionId" => &mut transaction_id,
                "batchUniqId" => &mut batch_uniq_id,
                "MSG_REGION" => &mut region_id,
                "TRACE_ON" => &mut trace_on,
                _ => continue,
            };
            // The first of a repeated key, as a lookup by key finds it.
            slot.get_or_insert(v);
        }
        fn req<'a>(v: Option<&'a str>, k: &'static str) -> Result<&'a str, HeaderError> {
            v.ok_or(HeaderError::Missing(k))
        }
        let queue_id = req(queue_id, "queueId")?;
        let queue_offset = req(queue_offset, "queueOffset")?;
        Ok(SendMessageResponseHeader {
            msg_id: req(msg_id, "msgId")?.to_string(),
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
            transaction_id: transaction_id.map(str::to_string),
            batch_uniq_id: batch_uniq_id.map(str::to_string),
            region_id: region_id.map(str::to_string),
            trace_on: trace_on.map(|v| v != "false"),
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
    fn missing_and_invalid_fields_as_the_java_broker_takes_them() {
        // V2: absent queueId is null (an NPE later), a bad number a NumberFormatException.
        let mut e = header().to_ext_fields(true);
        e.remove("e");
        assert_eq!(SendMessageRequestHeader::from_ext_fields(310, &e), Err(HeaderError::Null("queueId")));
        e.insert("e", "x");
        let err = SendMessageRequestHeader::from_ext_fields(310, &e).unwrap_err();
        assert!(matches!(err, HeaderError::Invalid { field: "queueId", .. }));
        assert!(err.java_remark().starts_with("java.lang.NumberFormatException: For input string: \"x\", "));
        // V2: what the broker does without is defaulted; unknown keys are ignored.
        let mut e = header().to_ext_fields(true);
        for k in ["a", "c", "d", "i", "j", "k", "l", "m", "n"] {
            e.remove(k);
        }
        e.insert("zz", "1");
        let h = SendMessageRequestHeader::from_ext_fields(310, &e).unwrap();
        assert_eq!((h.default_topic.as_str(), h.default_topic_queue_nums, h.batch), ("TBW102", 4, None));
        // V1: a bad number is left null: fatal for queueId, not for reconsumeTimes.
        let mut e = header().to_ext_fields(false);
        e.insert("reconsumeTimes", "x");
        assert_eq!(SendMessageRequestHeader::from_ext_fields(10, &e).unwrap().reconsume_times, None);
        e.insert("queueId", "x");
        let err = SendMessageRequestHeader::from_ext_fields(10, &e).unwrap_err();
        assert_eq!(err, HeaderError::Null("queueId"));
        assert!(err.java_remark().contains("SendMessageRequestHeader.getQueueId()\" is null"));
        // Booleans are Boolean.parseBoolean.
        let mut e = header().to_ext_fields(true);
        for (v, want) in [("TRUE", true), ("True", true), ("1", false), ("0", false), ("yes", false)] {
            e.insert("k", v);
            assert_eq!(SendMessageRequestHeader::from_ext_fields(310, &e).unwrap().unit_mode, Some(want), "{v}");
        }
        // Each key set only under its own codes.
        assert!(SendMessageRequestHeader::from_ext_fields(10, &header().to_ext_fields(true)).is_err());
        assert!(SendMessageRequestHeader::from_ext_fields(310, &header().to_ext_fields(false)).is_err());
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
