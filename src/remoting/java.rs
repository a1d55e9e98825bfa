//! Header values read as the Java broker reads them (`RemotingCommand.decodeCommandCustomHeader`
//! and the `FastCodesHeader` decoders): `Boolean.parseBoolean`, `Integer.parseInt`,
//! `Long.parseLong`, and the remarks of the exceptions they end in.

/// `Boolean.parseBoolean`: "true" in any case is true, anything else false.
pub fn parse_boolean(s: &str) -> bool {
    s.eq_ignore_ascii_case("true")
}

/// `Integer.parseInt(s)`: an optional sign, then ASCII digits, in range; no spaces. (Java also
/// takes other scripts' digits, `Character.digit`; no client writes them.)
pub fn parse_int(s: &str) -> Option<i32> {
    parse_long(s).and_then(|n| i32::try_from(n).ok())
}

/// `Long.parseLong(s)`.
pub fn parse_long(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Rust's parser takes the same sign and digits (and rejects out of range).
    s.parse().ok()
}

/// The remark of the NumberFormatException `parseInt` / `parseLong` throws, as the broker
/// answers it (`UtilAll.exceptionSimpleDesc`: the exception, then its first stack frame).
pub fn number_format_remark(s: &str) -> String {
    format!(
        "java.lang.NumberFormatException: For input string: \"{s}\", \
         java.base/java.lang.NumberFormatException.forInputString(NumberFormatException.java:67)"
    )
}

/// The NullPointerException the Java broker 5.3.3 (JDK 17's helpful messages) answers a send
/// with when a field it needs was absent or unparsable (`field` by its V1 name), as measured.
pub fn null_send_field_remark(field: &str) -> String {
    const H: &str = "org.apache.rocketmq.remoting.protocol.header.SendMessageRequestHeader";
    let (unbox, getter, frame) = match field {
        "topic" => {
            return "java.lang.NullPointerException: Cannot invoke \"Object.hashCode()\" because \"key\" is null, \
                    java.base/java.util.concurrent.ConcurrentHashMap.get(ConcurrentHashMap.java:936)"
                .to_string()
        }
        "queueId" => (
            "Integer.intValue",
            "getQueueId",
            "AbstractSendMessageProcessor.msgCheck(AbstractSendMessageProcessor.java:523)",
        ),
        "sysFlag" => {
            ("Integer.intValue", "getSysFlag", "SendMessageProcessor.handleRetryAndDLQ(SendMessageProcessor.java:234)")
        }
        "bornTimestamp" => (
            "Long.longValue",
            "getBornTimestamp",
            "AbstractSendMessageProcessor.buildMsgContext(AbstractSendMessageProcessor.java:367)",
        ),
        _ => ("Integer.intValue", "getFlag", "SendMessageProcessor.sendMessage(SendMessageProcessor.java:275)"),
    };
    format!(
        "java.lang.NullPointerException: Cannot invoke \"java.lang.{unbox}()\" because the return value of \
         \"{H}.{getter}()\" is null, org.apache.rocketmq.broker.processor.{frame}"
    )
}

/// What the Java broker answers a send without a body (it decodes an empty body as null).
pub const NULL_BODY_REMARK: &str = "java.lang.NullPointerException: Cannot read the array length because the return value \
     of \"org.apache.rocketmq.remoting.protocol.RemotingCommand.getBody()\" is null, \
     org.apache.rocketmq.broker.processor.AbstractSendMessageProcessor.buildMsgContext(AbstractSendMessageProcessor.java:361)";

/// What the Java broker answers a batch whose body does not decode.
pub const BUFFER_UNDERFLOW_REMARK: &str =
    "java.nio.BufferUnderflowException, java.base/java.nio.Buffer.nextGetIndex(Buffer.java:707)";

/// The FAQ line the Java name server appends to TOPIC_NOT_EXIST (`FAQUrl.suggestTodo`).
pub const TOPIC_FAQ: &str = "\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details.";

/// The remark of the RemotingCommandException `decodeCommandCustomHeader` throws for a
/// `@CFNotNull` field that is absent.
pub fn null_field_remark(field: &str) -> String {
    format!("org.apache.rocketmq.remoting.exception.RemotingCommandException: the custom field <{field}> is null")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_as_boolean_parse_boolean() {
        for t in ["true", "TRUE", "True", "tRuE"] {
            assert!(parse_boolean(t), "{t}");
        }
        for f in ["false", "0", "1", "yes", "", " true", "true "] {
            assert!(!parse_boolean(f), "{f}");
        }
    }

    #[test]
    fn numbers_as_integer_parse_int() {
        assert_eq!(parse_int("3"), Some(3));
        assert_eq!(parse_int("+3"), Some(3));
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_int("007"), Some(7));
        assert_eq!(parse_int("2147483647"), Some(i32::MAX));
        for bad in ["", " 3", "3 ", "3.0", "0x10", "2147483648", "+", "-", "1e3"] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
        }
        assert_eq!(parse_long("1700000000000"), Some(1_700_000_000_000));
        assert_eq!(parse_long("9223372036854775808"), None);
    }
}
