//! Send request headers as clients write them, and odd ones made by hand, with what the Java
//! broker (5.3.3) answers each: the same table runs against the demo broker (tests/java_headers.rs)
//! and against Apache RocketMQ's broker (tests/apache.rs), so the demo broker is held to the
//! Java broker's answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;
use mqtui::remoting::RemotingCommand;

/// What the broker answers: stored (SEND_OK at queue 1), accepted (SEND_OK, any queue), or this
/// code and a remark starting so.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expect {
    Stored,
    Accepted,
    Refused(i32, &'static str),
}

pub struct Case {
    pub name: &'static str,
    /// The body (most cases: a short text).
    pub body: &'static [u8],
    /// The request code, as it appears in the JSON header (a number, or fastjson's string).
    pub code: &'static str,
    /// The extFields object, `{TOPIC}` standing for the topic.
    pub ext: &'static str,
    pub expect: Expect,
}

const BODY: &[u8] = b"hello from a header case";
const NPE: &str = "java.lang.NullPointerException: Cannot invoke";
const PROPS: &str = r#""KEYS\u0001k1\u0002WAIT\u0001true\u0002""#;

/// The cases. `V2` is what the Java client 5.3.3 writes (`SendMessageRequestHeaderV2`).
pub fn cases() -> Vec<Case> {
    use Expect::*;
    vec![
        Case {
            body: BODY,
            name: "java 5.x V2, as written",
            code: "310",
            ext: r#"{"a":"g","b":"{TOPIC}","c":"TBW102","d":"4","e":"1","f":"0","g":"1700000000000","h":"0","i":PROPS,"j":"0","k":"false","m":"false","n":"broker"}"#,
            expect: Stored,
        },
        Case {
            body: BODY,
            name: "V2 numbers as JSON numbers, booleans as JSON booleans",
            code: "310",
            ext: r#"{"a":"g","b":"{TOPIC}","c":"TBW102","d":4,"e":1,"f":0,"g":1700000000000,"h":0,"i":PROPS,"j":0,"k":false,"m":false}"#,
            expect: Stored,
        },
        Case {
            body: BODY,
            name: "V2 booleans TRUE and 0, code as a string",
            code: "\"310\"",
            ext: r#"{"a":"g","b":"{TOPIC}","c":"TBW102","d":"4","e":"1","f":"0","g":"1700000000000","h":"0","i":PROPS,"k":"TRUE","m":"0"}"#,
            expect: Stored,
        },
        Case {
            body: BODY,
            name: "V2 optional fields absent, unknown fields present",
            code: "310",
            ext: r#"{"a":"g","b":"{TOPIC}","c":"TBW102","d":"4","e":"1","f":"0","g":"1700000000000","h":"0","zz":"1","traceId":"x"}"#,
            expect: Stored,
        },
        Case {
            body: BODY,
            name: "V2 queueId not a number",
            code: "310",
            ext: r#"{"a":"g","b":"{TOPIC}","c":"TBW102","d":"4","e":"x","f":"0","g":"1700000000000","h":"0"}"#,
            expect: Refused(1, "java.lang.NumberFormatException: For input string: \"x\""),
        },
        Case {
            body: BODY,
            name: "V2 queueId with a space",
            code: "310",
            ext: r#"{"a":"g","b":"{TOPIC}","c":"TBW102","d":"4","e":" 1","f":"0","g":"1700000000000","h":"0"}"#,
            expect: Refused(1, "java.lang.NumberFormatException: For input string: \" 1\""),
        },
        Case {
            body: BODY,
            name: "V2 reconsumeTimes not a number",
            code: "310",
            ext: r#"{"a":"g","b":"{TOPIC}","c":"TBW102","d":"4","e":"1","f":"0","g":"1700000000000","h":"0","j":"zero"}"#,
            expect: Refused(1, "java.lang.NumberFormatException: For input string: \"zero\""),
        },
        Case {
            body: BODY,
            name: "java V1, as written",
            code: "10",
            ext: r#"{"queueId":"1","flag":"0","sysFlag":"0","reconsumeTimes":"0","batch":"false","unitMode":"false","defaultTopic":"TBW102","defaultTopicQueueNums":"4","producerGroup":"g","bname":"broker","topic":"{TOPIC}","bornTimestamp":"1700000000000","properties":PROPS}"#,
            expect: Stored,
        },
        Case {
            body: BODY,
            name: "V1 booleans 1 and True, optional fields absent",
            code: "10",
            ext: r#"{"queueId":"1","flag":"0","sysFlag":"0","batch":"1","unitMode":"True","defaultTopic":"TBW102","defaultTopicQueueNums":"4","producerGroup":"g","topic":"{TOPIC}","bornTimestamp":"1700000000000"}"#,
            expect: Stored,
        },
        Case {
            body: BODY,
            name: "V1 reconsumeTimes not a number (logged and left null)",
            code: "10",
            ext: r#"{"queueId":"1","flag":"0","sysFlag":"0","reconsumeTimes":"x","defaultTopic":"TBW102","defaultTopicQueueNums":"4","producerGroup":"g","topic":"{TOPIC}","bornTimestamp":"1700000000000"}"#,
            expect: Stored,
        },
        Case {
            body: BODY,
            name: "V1 producerGroup, defaultTopic and its queue count absent (logged, not refused)",
            code: "10",
            ext: r#"{"queueId":"1","flag":"0","sysFlag":"0","topic":"{TOPIC}","bornTimestamp":"1700000000000"}"#,
            expect: Stored,
        },
        Case {
            body: BODY,
            name: "V1 queueId not a number (left null: the broker fails on it)",
            code: "10",
            ext: r#"{"queueId":"one","flag":"0","sysFlag":"0","defaultTopic":"TBW102","defaultTopicQueueNums":"4","producerGroup":"g","topic":"{TOPIC}","bornTimestamp":"1700000000000"}"#,
            expect: Refused(1, "java.lang.NullPointerException: Cannot invoke \"java.lang.Integer.intValue()\" because the return value of \"org.apache.rocketmq.remoting.protocol.header.SendMessageRequestHeader.getQueueId()\" is null, org.apache.rocketmq.broker.processor.AbstractSendMessageProcessor.msgCheck(AbstractSendMessageProcessor.java:523)"),
        },
        Case {
            body: BODY,
            name: "V2 topic absent",
            code: "310",
            ext: r#"{"a":"g","c":"TBW102","d":"4","e":"1","f":"0","g":"1700000000000","h":"0"}"#,
            expect: Refused(1, "java.lang.NullPointerException: Cannot invoke \"Object.hashCode()\" because \"key\" is null"),
        },
        Case {
            body: BODY,
            name: "V2 bornTimestamp absent",
            code: "310",
            ext: r#"{"a":"g","b":"{TOPIC}","c":"TBW102","d":"4","e":"1","f":"0","h":"0"}"#,
            expect: Refused(1, "java.lang.NullPointerException: Cannot invoke \"java.lang.Long.longValue()\" because the return value of \"org.apache.rocketmq.remoting.protocol.header.SendMessageRequestHeader.getBornTimestamp()\" is null"),
        },
        Case {
            body: BODY,
            name: "V2 a queue the topic does not have",
            code: "310",
            ext: r#"{"a":"g","b":"{TOPIC}","c":"TBW102","d":"4","e":"9","f":"0","g":"1700000000000","h":"0"}"#,
            expect: Refused(29, "request queueId[9] is illegal, TopicConfig [topicName="),
        },
        Case {
            body: BODY,
            name: "V2 queueId -1 (the broker picks a queue)",
            code: "310",
            ext: r#"{"a":"g","b":"{TOPIC}","c":"TBW102","d":"4","e":"-1","f":"0","g":"1700000000000","h":"0"}"#,
            expect: Accepted,
        },
        Case {
            body: b"",
            name: "V2 no body",
            code: "310",
            ext: r#"{"a":"g","b":"{TOPIC}","c":"TBW102","d":"4","e":"1","f":"0","g":"1700000000000","h":"0"}"#,
            expect: Refused(1, "java.lang.NullPointerException: Cannot read the array length because the return value of \"org.apache.rocketmq.remoting.protocol.RemotingCommand.getBody()\" is null"),
        },
        Case {
            body: BODY,
            // Which exception depends on the bytes (this body: ArrayIndexOutOfBoundsException in
            // CRC32; a short one: BufferUnderflowException, what the demo broker answers).
            name: "V2 batch=true on a body that is not a batch",
            code: "310",
            ext: r#"{"a":"g","b":"{TOPIC}","c":"TBW102","d":"4","e":"1","f":"0","g":"1700000000000","h":"0","m":"true"}"#,
            expect: Refused(1, "java."),
        },
        Case {
            body: BODY,
            name: "SEND_BATCH_MESSAGE without batch=true (stored as one message, as Java does)",
            code: "320",
            ext: r#"{"a":"g","b":"{TOPIC}","c":"TBW102","d":"4","e":"1","f":"0","g":"1700000000000","h":"0"}"#,
            expect: Stored,
        },
        Case {
            body: BODY,
            name: "V1 keys under code 310 (the V2 decoder finds none)",
            code: "310",
            ext: r#"{"queueId":"1","flag":"0","sysFlag":"0","defaultTopic":"TBW102","defaultTopicQueueNums":"4","producerGroup":"g","topic":"{TOPIC}","bornTimestamp":"1700000000000"}"#,
            expect: Refused(1, NPE),
        },
    ]
}

/// The request frame of a case: a JSON header as Java writes it, and a small body.
pub fn frame(case: &Case, topic: &str, broker: &str, opaque: i32) -> Vec<u8> {
    let ext =
        case.ext.replace("{TOPIC}", topic).replace("PROPS", PROPS).replace("\"broker\"", &format!("\"{broker}\""));
    let header = format!(
        r#"{{"code":{},"extFields":{ext},"flag":0,"language":"JAVA","opaque":{opaque},"serializeTypeCurrentRPC":"JSON","version":479}}"#,
        case.code
    );
    let body = case.body;
    let mut f = Vec::new();
    f.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
    f.extend_from_slice(&(header.len() as u32).to_be_bytes());
    f.extend_from_slice(header.as_bytes());
    f.extend_from_slice(body);
    f
}

/// Sends one raw frame and reads the reply.
pub fn exchange(addr: &str, frame: &[u8]) -> RemotingCommand {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(frame).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap_or_else(|e| panic!("no reply from {addr}: {e}"));
    let mut rest = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut rest).unwrap();
    RemotingCommand::decode_frame(Bytes::from(rest)).unwrap()
}

/// Runs every case against the broker at `addr`; returns the failures, described.
pub fn check_all(addr: &str, topic: &str, broker: &str) -> Vec<String> {
    let mut failures = Vec::new();
    for (i, case) in cases().iter().enumerate() {
        let r = exchange(addr, &frame(case, topic, broker, 1000 + i as i32));
        let ok = match case.expect {
            Expect::Stored => r.code == 0 && r.ext_fields.get("queueId") == Some("1"),
            Expect::Accepted => r.code == 0 && r.ext_fields.get("queueOffset").is_some(),
            Expect::Refused(code, remark) => r.code == code && r.remark.as_deref().unwrap_or("").starts_with(remark),
        };
        if !ok {
            failures
                .push(format!("{}: expected {:?}, got code {} remark {:?}", case.name, case.expect, r.code, r.remark));
        }
    }
    failures
}
