//! Transactional messages: the sys flag bits, the local transaction states, and the two headers
//! of the exchange (END_TRANSACTION from the producer, CHECK_TRANSACTION_STATE from the broker),
//! as `EndTransactionRequestHeader` / `CheckTransactionStateRequestHeader` put them in extFields
//! (5.x adds `topic` and RpcRequestHeader's `bname`; absent fields are not sent).

use crate::remoting::java::{parse_boolean, parse_int, parse_long};
use crate::remoting::ExtFields;

/// `MessageSysFlag.TRANSACTION_PREPARED_TYPE`: a half message.
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x1 << 2;
/// `TRANSACTION_COMMIT_TYPE`.
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x2 << 2;
/// `TRANSACTION_ROLLBACK_TYPE`.
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0x3 << 2;
/// `TRANSACTION_NOT_TYPE`: the producer does not know (yet).
pub const TRANSACTION_NOT_TYPE: i32 = 0;
/// Where the Java broker keeps half messages.
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";

/// `LocalTransactionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LocalState {
    Commit,
    Rollback,
    Unknown,
}

impl LocalState {
    /// Java's constant names (`UNKNOW` as spelt there).
    pub fn java_name(self) -> &'static str {
        match self {
            LocalState::Commit => "COMMIT_MESSAGE",
            LocalState::Rollback => "ROLLBACK_MESSAGE",
            LocalState::Unknown => "UNKNOW",
        }
    }

    /// Short words for flags and views.
    pub fn name(self) -> &'static str {
        match self {
            LocalState::Commit => "commit",
            LocalState::Rollback => "rollback",
            LocalState::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<LocalState> {
        match s.trim().to_ascii_lowercase().as_str() {
            "commit" | "commit_message" => Some(LocalState::Commit),
            "rollback" | "rollback_message" => Some(LocalState::Rollback),
            "unknown" | "unknow" => Some(LocalState::Unknown),
            _ => None,
        }
    }

    /// `commitOrRollback`.
    pub fn commit_or_rollback(self) -> i32 {
        match self {
            LocalState::Commit => TRANSACTION_COMMIT_TYPE,
            LocalState::Rollback => TRANSACTION_ROLLBACK_TYPE,
            LocalState::Unknown => TRANSACTION_NOT_TYPE,
        }
    }

    pub fn from_commit_or_rollback(v: i32) -> Option<LocalState> {
        match v {
            TRANSACTION_COMMIT_TYPE => Some(LocalState::Commit),
            TRANSACTION_ROLLBACK_TYPE => Some(LocalState::Rollback),
            TRANSACTION_NOT_TYPE => Some(LocalState::Unknown),
            _ => None,
        }
    }
}

/// A header that does not parse: the field and what was there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TxHeaderError(pub String);

fn need<'a>(f: &'a ExtFields, k: &'static str) -> Result<&'a str, TxHeaderError> {
    f.get(k).ok_or_else(|| TxHeaderError(format!("the request has no '{k}' header field")))
}

fn long(f: &ExtFields, k: &'static str) -> Result<i64, TxHeaderError> {
    let v = need(f, k)?;
    parse_long(v).ok_or_else(|| TxHeaderError(format!("header field '{k}' = {v:?} is not a valid Long")))
}

fn opt(f: &ExtFields, k: &str) -> Option<String> {
    f.get(k).map(str::to_string)
}

/// `EndTransactionRequestHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndTransactionHeader {
    /// 5.x.
    pub topic: Option<String>,
    pub producer_group: String,
    /// The half message's queue offset (the send result's).
    pub tran_state_table_offset: i64,
    /// The half message's commit-log offset (from its offset msgId).
    pub commit_log_offset: i64,
    pub commit_or_rollback: i32,
    pub from_transaction_check: bool,
    /// The message's UNIQ_KEY.
    pub msg_id: String,
    pub transaction_id: Option<String>,
    /// 5.x: RpcRequestHeader's `bname`.
    pub broker_name: Option<String>,
}

impl EndTransactionHeader {
    pub fn to_ext_fields(&self) -> ExtFields {
        let mut e = ExtFields::with_capacity(9);
        if let Some(t) = &self.topic {
            e.push("topic", t.clone());
        }
        e.push("producerGroup", self.producer_group.clone());
        e.push("tranStateTableOffset", self.tran_state_table_offset.to_string());
        e.push("commitLogOffset", self.commit_log_offset.to_string());
        e.push("commitOrRollback", self.commit_or_rollback.to_string());
        e.push("fromTransactionCheck", self.from_transaction_check.to_string());
        e.push("msgId", self.msg_id.clone());
        if let Some(t) = &self.transaction_id {
            e.push("transactionId", t.clone());
        }
        if let Some(b) = &self.broker_name {
            e.push("bname", b.clone());
        }
        e
    }

    /// As the Java broker reads it (`@CFNotNull`: producerGroup, tranStateTableOffset,
    /// commitLogOffset, commitOrRollback, msgId).
    pub fn from_ext_fields(f: &ExtFields) -> Result<Self, TxHeaderError> {
        let cor = need(f, "commitOrRollback")?;
        Ok(EndTransactionHeader {
            topic: opt(f, "topic"),
            producer_group: need(f, "producerGroup")?.to_string(),
            tran_state_table_offset: long(f, "tranStateTableOffset")?,
            commit_log_offset: long(f, "commitLogOffset")?,
            commit_or_rollback: parse_int(cor).ok_or_else(|| {
                TxHeaderError(format!("header field 'commitOrRollback' = {cor:?} is not a valid Integer"))
            })?,
            from_transaction_check: f.get("fromTransactionCheck").is_some_and(parse_boolean),
            msg_id: need(f, "msgId")?.to_string(),
            transaction_id: opt(f, "transactionId"),
            broker_name: opt(f, "bname"),
        })
    }
}

/// `CheckTransactionStateRequestHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckTransactionStateHeader {
    pub topic: Option<String>,
    pub tran_state_table_offset: i64,
    pub commit_log_offset: i64,
    pub msg_id: Option<String>,
    pub transaction_id: Option<String>,
    pub offset_msg_id: Option<String>,
    pub broker_name: Option<String>,
}

impl CheckTransactionStateHeader {
    pub fn to_ext_fields(&self) -> ExtFields {
        let mut e = ExtFields::with_capacity(7);
        let mut put = |k: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                e.push(k, v.clone());
            }
        };
        put("topic", &self.topic);
        put("msgId", &self.msg_id);
        put("transactionId", &self.transaction_id);
        put("offsetMsgId", &self.offset_msg_id);
        put("bname", &self.broker_name);
        e.push("tranStateTableOffset", self.tran_state_table_offset.to_string());
        e.push("commitLogOffset", self.commit_log_offset.to_string());
        e
    }

    pub fn from_ext_fields(f: &ExtFields) -> Result<Self, TxHeaderError> {
        Ok(CheckTransactionStateHeader {
            topic: opt(f, "topic"),
            tran_state_table_offset: long(f, "tranStateTableOffset")?,
            commit_log_offset: long(f, "commitLogOffset")?,
            msg_id: opt(f, "msgId"),
            transaction_id: opt(f, "transactionId"),
            offset_msg_id: opt(f, "offsetMsgId"),
            broker_name: opt(f, "bname"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_their_flags() {
        assert_eq!((TRANSACTION_PREPARED_TYPE, TRANSACTION_COMMIT_TYPE, TRANSACTION_ROLLBACK_TYPE), (4, 8, 12));
        for s in [LocalState::Commit, LocalState::Rollback, LocalState::Unknown] {
            assert_eq!(LocalState::from_commit_or_rollback(s.commit_or_rollback()), Some(s));
            assert_eq!(LocalState::parse(s.name()), Some(s));
            assert_eq!(LocalState::parse(s.java_name()), Some(s));
        }
        assert_eq!(LocalState::from_commit_or_rollback(5), None);
    }

    #[test]
    fn headers_round_trip_and_read_javas_strings() {
        let h = EndTransactionHeader {
            topic: Some("T".into()),
            producer_group: "G".into(),
            tran_state_table_offset: 7,
            commit_log_offset: 1234,
            commit_or_rollback: 8,
            from_transaction_check: true,
            msg_id: "ID".into(),
            transaction_id: Some("TX".into()),
            broker_name: Some("broker-a".into()),
        };
        let f = h.to_ext_fields();
        assert_eq!(f.get("bname"), Some("broker-a"));
        assert_eq!(EndTransactionHeader::from_ext_fields(&f).unwrap(), h);
        let mut bad = f.clone();
        bad.remove("msgId");
        assert!(EndTransactionHeader::from_ext_fields(&bad).unwrap_err().0.contains("msgId"));
        let c = CheckTransactionStateHeader {
            tran_state_table_offset: 3,
            commit_log_offset: 99,
            msg_id: Some("M".into()),
            ..Default::default()
        };
        assert_eq!(CheckTransactionStateHeader::from_ext_fields(&c.to_ext_fields()).unwrap(), c);
    }
}
