//! The demo broker's answers to the admin requests that `mqadmin` sends: GET_BROKER_RUNTIME_INFO
//! (`clusterList`, `brokerStatus`), GET_TOPIC_STATS_INFO and GET_TOPIC_CONFIG (`topicStatus`), with the bodies the
//! Java broker writes (`AdminBrokerProcessor`): a `KVTable` and a `TopicStatsTable` as fastjson
//! encodes them.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::remoting::codes::ResponseCode;
use crate::remoting::RemotingCommand;

/// The protocol version the demo broker reports (it answers as a 5.3.3 broker does).
pub const BROKER_VERSION_DESC: &str = "V5_3_3";
pub const BROKER_VERSION: i32 = 479;

/// Messages per second stored, measured between two runtime-info requests (at least a second
/// apart), or since boot for the first one.
pub(crate) struct PutTps {
    boot: Instant,
    boot_ms: u64,
    last: Mutex<(Instant, u64, f64)>,
}

impl PutTps {
    pub(crate) fn new() -> Self {
        let now = Instant::now();
        PutTps { boot: now, boot_ms: now_ms(), last: Mutex::new((now, 0, 0.0)) }
    }

    fn sample(&self, messages: u64) -> f64 {
        let mut last = self.last.lock().unwrap();
        let now = Instant::now();
        let (at, count, tps) = *last;
        let secs = now.duration_since(at).as_secs_f64();
        if secs >= 1.0 {
            let tps = (messages - count) as f64 / secs;
            *last = (now, messages, tps);
            tps
        } else if count == 0 && tps == 0.0 {
            messages as f64 / now.duration_since(self.boot).as_secs_f64().max(1e-3)
        } else {
            tps
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// What the runtime info says of one broker.
pub(crate) struct RuntimeFacts {
    pub messages: u64,
    pub commit_log_max_offset: i64,
}

/// GET_BROKER_RUNTIME_INFO: the `KVTable` the Java broker's `prepareRuntimeInfo` builds, with
/// the demo broker's own figures where it has them and the Java broker's idle values elsewhere.
pub(crate) fn runtime_info(req: &RemotingCommand, facts: RuntimeFacts, tps: &PutTps) -> RemotingCommand {
    let put = tps.sample(facts.messages);
    let boot = tps.boot_ms;
    let table: Vec<(&str, String)> = vec![
        ("brokerActive", "true".into()),
        ("brokerVersionDesc", BROKER_VERSION_DESC.into()),
        ("brokerVersion", BROKER_VERSION.to_string()),
        ("bootTimestamp", boot.to_string()),
        ("runtime", runtime_text(tps.boot.elapsed().as_secs())),
        ("msgPutTotalYesterdayMorning", "0".into()),
        ("msgPutTotalTodayMorning", "0".into()),
        ("msgPutTotalTodayNow", facts.messages.to_string()),
        ("msgGetTotalYesterdayMorning", "0".into()),
        ("msgGetTotalTodayMorning", "0".into()),
        ("msgGetTotalTodayNow", "0".into()),
        ("putTps", format!("{put:.2} {put:.2} {put:.2}")),
        ("getTransferredTps", "0.00 0.00 0.00".into()),
        ("getTransferedTps", "0.00 0.00 0.00".into()),
        ("dispatchBehindBytes", "0".into()),
        ("pageCacheLockTimeMills", "0".into()),
        ("earliestMessageTimeStamp", boot.to_string()),
        ("startAcceptSendRequestTimeStamp", "0".into()),
        ("timerReadBehind", "0".into()),
        ("timerOffsetBehind", "0".into()),
        ("timerCongestNum", "0".into()),
        ("timerEnqueueTps", "0.0".into()),
        ("timerDequeueTps", "0.0".into()),
        ("commitLogMinOffset", "0".into()),
        ("commitLogMaxOffset", facts.commit_log_max_offset.to_string()),
        ("commitLogDiskRatio", "0.0".into()),
        ("sendThreadPoolQueueSize", "0".into()),
        ("sendThreadPoolQueueCapacity", "10000".into()),
        ("pullThreadPoolQueueSize", "0".into()),
        ("pullThreadPoolQueueCapacity", "100000".into()),
        ("ackThreadPoolQueueSize", "0".into()),
        ("sendThreadPoolQueueHeadWaitTimeMills", "0".into()),
        ("pullThreadPoolQueueHeadWaitTimeMills", "0".into()),
        ("ackThreadPoolQueueHeadWaitTimeMills", "0".into()),
        ("brokerImpl", "mqtui demo broker".into()),
    ];
    let mut body = String::from("{\"table\":{");
    for (i, (k, v)) in table.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        let _ = write!(body, "{}:{}", json(k), json(v));
    }
    body.push_str("}}");
    RemotingCommand::response_to(req, ResponseCode::SUCCESS.code(), None).with_body(body.into_bytes())
}

/// How long the broker has run, as the Java broker words it (`BrokerController.getServerRuntime`).
fn runtime_text(secs: u64) -> String {
    format!("[ {} days, {} hours, {} minutes, {} seconds ]", secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60)
}

/// GET_TOPIC_STATS_INFO: the `TopicStatsTable` (min and max offset of each queue), keyed by
/// `MessageQueue` objects as fastjson writes a map with object keys. `offsets` None (the
/// request names no topic): TOPIC_NOT_EXIST with the Java broker's remark.
pub(crate) fn topic_stats(req: &RemotingCommand, broker: &str, offsets: Option<Vec<i64>>) -> RemotingCommand {
    let topic = req.ext_fields.get("topic").unwrap_or_default();
    let Some(offsets) = offsets else {
        return RemotingCommand::response_to(
            req,
            ResponseCode::TOPIC_NOT_EXIST.code(),
            Some(format!("topic[{topic}] not exist")),
        );
    };
    let mut body = String::from("{\"offsetTable\":{");
    for (q, max) in offsets.iter().enumerate() {
        if q > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            "{{\"brokerName\":{},\"queueId\":{q},\"topic\":{}}}:{{\"lastUpdateTimestamp\":0,\"maxOffset\":{max},\"minOffset\":0}}",
            json(broker),
            json(topic)
        );
    }
    body.push_str("}}");
    RemotingCommand::response_to(req, ResponseCode::SUCCESS.code(), None).with_body(body.into_bytes())
}

/// GET_TOPIC_CONFIG: the `TopicConfigAndQueueMapping` (no static-topic mapping) of any topic,
/// with this broker's queue counts, read-write.
pub(crate) fn topic_config(req: &RemotingCommand, queues: i32) -> RemotingCommand {
    let topic = req.ext_fields.get("topic").unwrap_or_default();
    let body = format!(
        "{{\"attributes\":{{}},\"order\":false,\"perm\":6,\"readQueueNums\":{queues},\"topicFilterType\":\"SINGLE_TAG\",\"topicName\":{},\"topicSysFlag\":0,\"writeQueueNums\":{queues}}}",
        json(topic)
    );
    RemotingCommand::response_to(req, ResponseCode::SUCCESS.code(), None).with_body(body.into_bytes())
}

fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remoting::{ExtFields, RequestCode};

    #[test]
    fn runtime_info_is_a_kv_table_with_the_keys_cluster_list_reads() {
        let req = RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO.code(), ExtFields::new());
        let r = runtime_info(&req, RuntimeFacts { messages: 42, commit_log_max_offset: 9000 }, &PutTps::new());
        assert_eq!(r.code, 0);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let t = &v["table"];
        assert_eq!(t["msgPutTotalTodayNow"], "42");
        assert_eq!(t["brokerActive"], "true");
        assert_eq!(t["brokerVersionDesc"], "V5_3_3");
        // ClusterListSubCommand splits these on spaces and parses the first as a double.
        for k in ["putTps", "getTransferredTps"] {
            let first = t[k].as_str().unwrap().split(' ').next().unwrap();
            first.parse::<f64>().unwrap();
        }
        for k in ["timerReadBehind", "timerOffsetBehind", "timerCongestNum", "earliestMessageTimeStamp"] {
            t[k].as_str().unwrap().parse::<i64>().unwrap();
        }
    }

    #[test]
    fn runtime_is_worded_as_java_words_it() {
        assert_eq!(runtime_text(59), "[ 0 days, 0 hours, 0 minutes, 59 seconds ]");
        assert_eq!(runtime_text(2 * 86_400 + 3 * 3600 + 4 * 60 + 5), "[ 2 days, 3 hours, 4 minutes, 5 seconds ]");
    }

    #[test]
    fn topic_stats_key_queues_by_message_queue_objects() {
        let req = RemotingCommand::request(
            RequestCode::GET_TOPIC_STATS_INFO.code(),
            ExtFields::from_iter([("topic", "T".to_string())]),
        );
        let r = topic_stats(&req, "broker-a", Some(vec![3, 0]));
        let body = String::from_utf8(r.body.to_vec()).unwrap();
        assert_eq!(
            body,
            "{\"offsetTable\":{{\"brokerName\":\"broker-a\",\"queueId\":0,\"topic\":\"T\"}:{\"lastUpdateTimestamp\":0,\"maxOffset\":3,\"minOffset\":0},\
             {\"brokerName\":\"broker-a\",\"queueId\":1,\"topic\":\"T\"}:{\"lastUpdateTimestamp\":0,\"maxOffset\":0,\"minOffset\":0}}}"
        );
        let none = topic_stats(&req, "broker-a", None);
        assert_eq!(none.code, ResponseCode::TOPIC_NOT_EXIST.code());
        assert_eq!(none.remark.as_deref(), Some("topic[T] not exist"));
    }
}
