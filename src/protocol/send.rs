//! Building send requests and reading send responses (`MQClientAPIImpl.sendMessage` /
//! `processSendResponse`).

use super::compress::Compression;
use super::header::{HeaderError, SendHeaderFields, SendMessageResponseHeader};
use super::message::{encode_batch, Message};
use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};

/// `MixAll.AUTO_CREATE_TOPIC_KEY_TOPIC`.
pub const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";
/// `defaultTopicQueueNums`.
pub const DEFAULT_TOPIC_QUEUE_NUMS: i32 = 4;

/// Where one send goes and how it is encoded.
#[derive(Debug, Clone)]
pub struct SendTarget<'a> {
    pub producer_group: &'a str,
    pub broker_name: &'a str,
    pub queue_id: i32,
    /// `sendSmartMsg`: SEND_MESSAGE_V2 (310) with short keys; false: SEND_MESSAGE (10).
    pub smart: bool,
}

fn now_ms() -> i64 {
    super::msgid::wall_ms()
}

/// A SEND_MESSAGE_V2 (or SEND_MESSAGE) request for one message; bodies of 4 KiB and more are
/// zlib-compressed with sys flag 0x301, as the Java client does. The message's properties are
/// sent as they are (set UNIQ_KEY before).
pub fn single_request(msg: &Message, to: &SendTarget<'_>) -> RemotingCommand {
    single_request_with(msg, to, &Compression::default())
}

/// [`single_request`] with the producer's compression (`compressType`, `compressLevel`).
pub fn single_request_with(msg: &Message, to: &SendTarget<'_>, compression: &Compression) -> RemotingCommand {
    let (body, mut sys_flag) = compression.apply(&msg.body);
    // sendKernelImpl: `Boolean.parseBoolean(TRAN_MSG)` → TRANSACTION_PREPARED_TYPE.
    if msg.property(super::properties::TRAN_MSG).is_some_and(crate::remoting::java::parse_boolean) {
        sys_flag |= super::transaction::TRANSACTION_PREPARED_TYPE;
    }
    let header = SendHeaderFields {
        producer_group: to.producer_group,
        topic: &msg.topic,
        default_topic: AUTO_CREATE_TOPIC_KEY,
        default_topic_queue_nums: DEFAULT_TOPIC_QUEUE_NUMS,
        queue_id: to.queue_id,
        sys_flag,
        born_timestamp: now_ms(),
        flag: msg.flag,
        properties: Some(msg.properties_string()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(false),
        broker_name: Some(to.broker_name),
    };
    let code = if to.smart { RequestCode::SEND_MESSAGE_V2 } else { RequestCode::SEND_MESSAGE };
    RemotingCommand::request(code.code(), header.to_ext_fields(to.smart)).with_body(body)
}

/// A SEND_BATCH_MESSAGE request (always V2 keys, never compressed). `batch_props` are the
/// batch's own properties (its UNIQ_KEY, WAIT).
pub fn batch_request(topic: &str, msgs: &[Message], batch_props: &str, to: &SendTarget<'_>) -> RemotingCommand {
    let header = SendHeaderFields {
        producer_group: to.producer_group,
        topic,
        default_topic: AUTO_CREATE_TOPIC_KEY,
        default_topic_queue_nums: DEFAULT_TOPIC_QUEUE_NUMS,
        queue_id: to.queue_id,
        sys_flag: 0,
        born_timestamp: now_ms(),
        flag: 0,
        properties: Some(batch_props.to_string()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(true),
        broker_name: Some(to.broker_name),
    };
    RemotingCommand::request(RequestCode::SEND_BATCH_MESSAGE.code(), header.to_ext_fields(true))
        .with_body(encode_batch(msgs))
}

/// How a stored message was stored (`SendStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)]
pub enum SendStatus {
    SEND_OK,
    FLUSH_DISK_TIMEOUT,
    FLUSH_SLAVE_TIMEOUT,
    SLAVE_NOT_AVAILABLE,
}

impl SendStatus {
    pub fn name(self) -> &'static str {
        match self {
            SendStatus::SEND_OK => "SEND_OK",
            SendStatus::FLUSH_DISK_TIMEOUT => "FLUSH_DISK_TIMEOUT",
            SendStatus::FLUSH_SLAVE_TIMEOUT => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SLAVE_NOT_AVAILABLE => "SLAVE_NOT_AVAILABLE",
        }
    }
}

/// A send response that carries a stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReply {
    pub status: SendStatus,
    pub header: SendMessageResponseHeader,
}

/// A send response that is not a stored message: `MQBrokerException(code, remark)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("broker error {label}: {remark}", label = crate::remoting::codes::response_code_label(*code))]
pub struct BrokerError {
    pub code: i32,
    pub remark: String,
}

/// `processSendResponse`: SUCCESS → SEND_OK; FLUSH_DISK_TIMEOUT / FLUSH_SLAVE_TIMEOUT /
/// SLAVE_NOT_AVAILABLE → that status (stored); anything else → a broker error.
pub fn process_send_response(resp: &RemotingCommand) -> Result<SendReply, BrokerError> {
    let status = match ResponseCode::from_code(resp.code) {
        Some(ResponseCode::SUCCESS) => SendStatus::SEND_OK,
        Some(ResponseCode::FLUSH_DISK_TIMEOUT) => SendStatus::FLUSH_DISK_TIMEOUT,
        Some(ResponseCode::FLUSH_SLAVE_TIMEOUT) => SendStatus::FLUSH_SLAVE_TIMEOUT,
        Some(ResponseCode::SLAVE_NOT_AVAILABLE) => SendStatus::SLAVE_NOT_AVAILABLE,
        _ => return Err(BrokerError { code: resp.code, remark: resp.remark.clone().unwrap_or_default() }),
    };
    let header = SendMessageResponseHeader::from_ext_fields(&resp.ext_fields)
        .map_err(|e: HeaderError| BrokerError { code: resp.code, remark: format!("malformed send response: {e}") })?;
    Ok(SendReply { status, header })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::decode_batch;

    fn target(smart: bool) -> SendTarget<'static> {
        SendTarget { producer_group: "PG", broker_name: "broker-a", queue_id: 1, smart }
    }

    #[test]
    fn single_request_compresses_large_bodies() {
        let small = single_request(&Message::new("T", vec![b'x'; 100]), &target(true));
        assert_eq!(small.code, 310);
        assert_eq!(small.ext_fields.get("f"), Some("0"));
        assert_eq!(small.body.len(), 100);
        let big = single_request(&Message::new("T", vec![b'x'; 8192]), &target(false));
        assert_eq!(big.code, 10);
        assert_eq!(big.ext_fields.get("sysFlag"), Some("769"));
        assert!(big.body.len() < 200);
        assert_eq!(big.ext_fields.get("properties"), Some("WAIT\u{1}true\u{2}"));
    }

    #[test]
    fn batch_request_is_v2_and_uncompressed() {
        let msgs = vec![Message::new("T", vec![b'x'; 5000]), Message::new("T", &b"y"[..])];
        let r = batch_request("T", &msgs, "", &target(true));
        assert_eq!(r.code, 320);
        assert_eq!(r.ext_fields.get("m"), Some("true"));
        assert_eq!(r.ext_fields.get("f"), Some("0"));
        assert_eq!(decode_batch(r.body.clone()).unwrap()[0].body.len(), 5000);
    }

    #[test]
    fn processes_responses_like_java() {
        let req = RemotingCommand::request(310, Default::default());
        let mut ok = RemotingCommand::response_to(&req, 0, None);
        ok.ext_fields =
            SendMessageResponseHeader { msg_id: "AB".into(), queue_id: 1, queue_offset: 5, ..Default::default() }
                .to_ext_fields();
        assert_eq!(process_send_response(&ok).unwrap().status, SendStatus::SEND_OK);
        let mut flush = ok.clone();
        flush.code = 10;
        assert_eq!(process_send_response(&flush).unwrap().status, SendStatus::FLUSH_DISK_TIMEOUT);
        let busy = RemotingCommand::response_to(&req, 2, Some("busy".into()));
        let e = process_send_response(&busy).unwrap_err();
        assert_eq!((e.code, e.remark.as_str()), (2, "busy"));
        assert_eq!(e.to_string(), "broker error SYSTEM_BUSY (2): busy");
        let bare = RemotingCommand::response_to(&req, 0, None);
        assert!(process_send_response(&bare).is_err());
    }
}
