//! Message properties: `name 0x01 value 0x02 name 0x01 value 0x02 …` (`MessageDecoder`).

/// Separates a property's name from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Ends each property.
pub const PROPERTY_SEPARATOR: char = '\u{2}';

pub const KEYS: &str = "KEYS";
pub const TAGS: &str = "TAGS";
pub const WAIT: &str = "WAIT";
pub const DELAY: &str = "DELAY";
pub const UNIQ_KEY: &str = "UNIQ_KEY";
pub const TRAN_MSG: &str = "TRAN_MSG";
pub const MSG_REGION: &str = "MSG_REGION";
pub const TRACE_ON: &str = "TRACE_ON";
/// `PROPERTY_SHARDING_KEY`: a 5.x FIFO message's group (the broker counts it an order message).
pub const SHARDING_KEY: &str = "__SHARDINGKEY";
/// `PROPERTY_PRODUCER_GROUP`: a half message's producer group (the check-back goes to it).
pub const PRODUCER_GROUP: &str = "PGROUP";
/// `PROPERTY_TRANSACTION_ID`, set by the broker on the half message it stores.
pub const TRANSACTION_ID: &str = "__transactionId__";
/// `PROPERTY_TRANSACTION_CHECK_TIMES`, the broker's count of check-backs.
pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
/// `PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS`: no check-back before this many seconds.
pub const CHECK_IMMUNITY_TIME: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
/// `PROPERTY_REAL_TOPIC` / `PROPERTY_REAL_QUEUE_ID`: where a half message or a delayed one goes.
pub const REAL_TOPIC: &str = "REAL_TOPIC";
pub const REAL_QUEUE_ID: &str = "REAL_QID";
/// 5.x timer messages (`Message.setDeliverTimeMs` / `setDelayTimeMs` / `setDelayTimeSec`).
pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";

/// The names `Message.putUserProperty` refuses (`MessageConst.STRING_HASH_SET`, 5.3.3): the
/// client and broker use them themselves.
/// `name` as the constant of that name, when it is one of the client's own.
pub fn known(name: &str) -> Option<&'static str> {
    [KEYS, TAGS, WAIT, DELAY, UNIQ_KEY, TRAN_MSG, SHARDING_KEY, PRODUCER_GROUP, TIMER_DELIVER_MS, TIMER_DELAY_MS]
        .into_iter()
        .find(|k| *k == name)
}

pub const RESERVED: &[&str] = &[
    "TRACE_ON",
    "MSG_REGION",
    "KEYS",
    "TAGS",
    "WAIT",
    "DELAY",
    "RETRY_TOPIC",
    "REAL_TOPIC",
    "REAL_QID",
    "TRAN_MSG",
    "PGROUP",
    "MIN_OFFSET",
    "MAX_OFFSET",
    "BUYER_ID",
    "ORIGIN_MESSAGE_ID",
    "TRANSFER_FLAG",
    "CORRECTION_FLAG",
    "MQ2_FLAG",
    "RECONSUME_TIME",
    "UNIQ_KEY",
    "MAX_RECONSUME_TIMES",
    "CONSUME_START_TIME",
    "POP_CK",
    "POP_CK_OFFSET",
    "1ST_POP_TIME",
    "TRAN_PREPARED_QUEUE_OFFSET",
    "DUP_INFO",
    "EXTEND_UNIQ_INFO",
    "INSTANCE_ID",
    "CORRELATION_ID",
    "REPLY_TO_CLIENT",
    "TTL",
    "ARRIVE_TIME",
    "PUSH_REPLY_TIME",
    "CLUSTER",
    "MSG_TYPE",
    "INNER_MULTI_QUEUE_OFFSET",
    "TIMER_DELAY_MS",
    "TIMER_DELAY_SEC",
    "TIMER_DELIVER_MS",
    "TIMER_ENQUEUE_MS",
    "TIMER_DEQUEUE_MS",
    "TIMER_ROLL_TIMES",
    "TIMER_OUT_MS",
    "TIMER_DEL_UNIQKEY",
    "TIMER_DELAY_LEVEL",
    "__BORNHOST",
    "BORN_TIMESTAMP",
    "DLQ_ORIGIN_TOPIC",
    "DLQ_ORIGIN_MESSAGE_ID",
    "__CRC32#",
];

/// A user property as `Message.putUserProperty` takes it: not a reserved name, neither part
/// blank; and (beyond Java, which would store a corrupt message) no separator character.
pub fn check_user_property(name: &str, value: &str) -> Result<(), String> {
    if RESERVED.contains(&name) {
        return Err(format!("the property <{name}> is used by system, input another please"));
    }
    if name.trim().is_empty() || value.trim().is_empty() {
        return Err("the name or value of a property can not be null or blank".to_string());
    }
    if [name, value].iter().any(|s| s.contains([NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR])) {
        return Err(format!("property {name:?} contains a \\u0001 or \\u0002 separator"));
    }
    Ok(())
}

/// A value that lands in the properties string (a tag, keys, a sharding key, a property):
/// refused if it holds a separator, which would end the value early and make what follows a
/// property of its own (`--tag $'t\x02TIMER_DELAY_SEC\x0199'` would make a timer message).
/// `what` names the value in the error.
pub fn check_value(what: &str, value: &str) -> Result<(), String> {
    if value.contains([NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR]) {
        return Err(format!(
            "{what} holds a \\u0001 or \\u0002, the characters that separate a message's properties: refused"
        ));
    }
    Ok(())
}

/// Encodes properties as the Java client does (a trailing separator after every pair).
pub fn encode<'a>(props: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let props = props.into_iter();
    // Sized for a message's usual few properties (UNIQ_KEY and its 32 digits, WAIT, TAGS, KEYS):
    // one allocation, where growing from empty reallocated four times per send.
    let mut s = String::with_capacity(96);
    for (k, v) in props {
        s.push_str(k);
        s.push(NAME_VALUE_SEPARATOR);
        s.push_str(v);
        s.push(PROPERTY_SEPARATOR);
    }
    s
}

/// Decodes a properties string; malformed pairs (no name/value separator) are skipped, as Java does.
pub fn decode(s: &str) -> Vec<(String, String)> {
    s.split(PROPERTY_SEPARATOR)
        .filter_map(|pair| {
            let (k, v) = pair.split_once(NAME_VALUE_SEPARATOR)?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// The value of one property without decoding the rest.
pub fn find<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    s.split(PROPERTY_SEPARATOR).find_map(|pair| {
        let (k, v) = pair.split_once(NAME_VALUE_SEPARATOR)?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_find() {
        let s = encode([("KEYS", "k1 k2"), ("UNIQ_KEY", "ABC"), ("WAIT", "true")]);
        assert_eq!(s, "KEYS\u{1}k1 k2\u{2}UNIQ_KEY\u{1}ABC\u{2}WAIT\u{1}true\u{2}");
        let d = decode(&s);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0], ("KEYS".into(), "k1 k2".into()));
        assert_eq!(find(&s, "UNIQ_KEY"), Some("ABC"));
        assert_eq!(find(&s, "TAGS"), None);
        assert!(decode("").is_empty());
        assert_eq!(decode("junk\u{2}A\u{1}b"), vec![("A".to_string(), "b".to_string())]);
    }
}
