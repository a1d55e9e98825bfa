//! The codec against a real peer: rocketmq-rust's name server and broker.
//!
//! `fixtures_*` decode reply frames captured byte for byte from the real peer
//! (`examples/capture_peer.rs`); they always run. `real_peer_answers_our_requests` talks to a
//! running peer cluster: `.ci/run` starts one with `../shared/peers/rocketmq-rust.sh` and sets
//! `MQTUI_PEER_NAMESRV`; without it the test says so and passes, except under `CI=true`.

mod common;

use std::time::Duration;

use bytes::Bytes;
use mqtui::protocol::message::Message;
use mqtui::protocol::msgid::{decode_offset_msg_id, UniqIdGenerator};
use mqtui::protocol::properties;
use mqtui::protocol::route::{ClusterInfo, TopicRouteData};
use mqtui::protocol::send::{batch_request, process_send_response, single_request, SendStatus, SendTarget};
use mqtui::remoting::{Connection, ExtFields, RemotingCommand, RequestCode, ResponseCode, SerializeType};

fn fixture(name: &str) -> RemotingCommand {
    common::fixture_in("peer", name)
}

#[test]
fn fixtures_route_and_cluster_info() {
    let r = fixture("route_tbw102.bin");
    assert_eq!(r.code, 0);
    assert_eq!(r.remark, None, "null remark");
    assert!(r.ext_fields.is_empty(), "null extFields");
    let route = TopicRouteData::parse(&r.body).unwrap();
    assert_eq!(route.broker_datas.len(), 2);
    assert_eq!(route.master_addr("broker-a"), Some("127.0.0.1:20911"));
    assert_eq!(route.master_addr("broker-b"), Some("127.0.0.1:20921"));
    assert_eq!(route.publish_queues("T").len(), 16);

    let missing = fixture("route_missing.bin");
    assert_eq!(missing.code, ResponseCode::TOPIC_NOT_EXIST.code());
    assert!(missing.remark.is_some());

    let info = ClusterInfo::parse(&fixture("cluster_info.bin").body).unwrap();
    assert_eq!(info.cluster_addr_table["DefaultCluster"].len(), 2);
    assert_eq!(info.broker_addr_table["broker-b"].master_addr(), Some("127.0.0.1:20921"));
}

#[test]
fn fixtures_send_replies() {
    let store: std::net::SocketAddr = "127.0.0.1:20911".parse().unwrap();
    let mut offsets = Vec::new();
    for name in ["send_v2_json.bin", "send_v2_rocketmq.bin", "send_v1_json.bin", "send_compressed.bin"] {
        let r = process_send_response(&fixture(name)).unwrap();
        assert_eq!(r.status, SendStatus::SEND_OK, "{name}");
        assert_eq!(r.header.queue_id, 0);
        assert_eq!(r.header.region_id.as_deref(), Some("DefaultRegion"));
        assert_eq!(r.header.trace_on, Some(true));
        let (addr, _) = decode_offset_msg_id(&r.header.msg_id).unwrap();
        assert_eq!(addr, store, "{name}");
        offsets.push(r.header.queue_offset);
    }
    assert_eq!(offsets, vec![0, 1, 2, 3]);
    // rocketmq-rust answers a ROCKETMQ-encoded request in JSON: a client must read either.
    assert_eq!(fixture("send_v2_rocketmq.bin").serialize_type, SerializeType::Json);

    let batch = process_send_response(&fixture("send_batch.bin")).unwrap();
    assert_eq!(batch.header.queue_offset, 4);
    let ids: Vec<_> = batch.header.msg_id.split(',').collect();
    assert_eq!(ids.len(), 3);
    let commit: Vec<i64> = ids.iter().map(|i| decode_offset_msg_id(i).unwrap().1).collect();
    assert!(commit.windows(2).all(|w| w[0] < w[1]));

    let unknown = fixture("unknown_code.bin");
    assert_eq!(unknown.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED.code());
    assert!(process_send_response(&unknown).is_err());
}

#[tokio::test]
async fn real_peer_answers_our_requests() {
    let Some(namesrv) = common::needs_env("MQTUI_PEER_NAMESRV", "scripts/test starts the real peer") else {
        return;
    };
    let t = Duration::from_secs(5);
    let ns = Connection::connect(&namesrv, t).await.unwrap();
    let resp = ns
        .invoke(
            RemotingCommand::request(
                RequestCode::GET_ROUTEINFO_BY_TOPIC.code(),
                ExtFields::from_iter([("topic", "TBW102")]),
            ),
            t,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, 0, "{resp:?}");
    let route = TopicRouteData::parse(&resp.body).unwrap();
    assert!(route.broker_datas.len() >= 2, "{route:?}");

    let ids = UniqIdGenerator::default();
    let topic = format!("MqtuiPeer{}", std::process::id());
    let msg = |body: Bytes| {
        let mut m = Message::new(topic.clone(), body).with_tags("peer");
        m.set_property(properties::UNIQ_KEY, ids.next_id());
        m
    };
    for bd in &route.broker_datas {
        let addr = bd.master_addr().unwrap();
        let conn = Connection::connect(addr, t).await.unwrap();
        let to =
            |smart| SendTarget { producer_group: "mqtui_peer_test", broker_name: &bd.broker_name, queue_id: 1, smart };
        let mut offsets = Vec::new();
        let requests = vec![
            single_request(&msg(Bytes::from_static(b"json v2")), &to(true)),
            single_request(&msg(Bytes::from_static(b"binary v2")), &to(true))
                .with_serialize_type(SerializeType::RocketMq),
            single_request(&msg(Bytes::from_static(b"json v1")), &to(false)),
            single_request(&msg(Bytes::from(vec![b'c'; 10_000])), &to(true)),
        ];
        for req in requests {
            let resp = conn.invoke(req, t).await.unwrap();
            let r = process_send_response(&resp).unwrap_or_else(|e| panic!("{}: {e}", bd.broker_name));
            assert_eq!(r.status, SendStatus::SEND_OK);
            assert_eq!(r.header.queue_id, 1);
            let (store, _) = decode_offset_msg_id(&r.header.msg_id).unwrap();
            assert_eq!(store.to_string(), addr, "the offset id names the broker that stored it");
            offsets.push(r.header.queue_offset);
        }
        let batch: Vec<Message> = (0..5).map(|i| msg(Bytes::from(format!("batch {i}")))).collect();
        let props = properties::encode([(properties::UNIQ_KEY, ids.next_id().as_str()), (properties::WAIT, "true")]);
        let resp = conn.invoke(batch_request(&topic, &batch, &props, &to(true)), t).await.unwrap();
        let r = process_send_response(&resp).unwrap();
        assert_eq!(r.header.msg_id.split(',').count(), 5);
        offsets.push(r.header.queue_offset);
        assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1), "{}: {offsets:?}", bd.broker_name);
    }
}

/// `mqtui produce` against the real peer: 10,000 messages, 4 KiB+ compressed bodies, and
/// batches; every result SEND_OK, both brokers used, offset ids naming the broker that stored
/// them, and queue offsets as the brokers assigned them (each queue of a fresh topic counts 0, 1,
/// 2, … with no gap and no repeat).
#[test]
fn mqtui_produce_against_the_real_peer() {
    let Some(namesrv) = common::needs_env("MQTUI_PEER_NAMESRV", "scripts/test starts the real peer") else {
        return;
    };
    let pid = std::process::id();
    let route = |topic: &str| -> TopicRouteData {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_mqtui"))
            .args(["route", "--namesrv", &namesrv, "--topic", topic, "--json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        serde_json::from_value(v["route"].clone()).unwrap()
    };
    for (name, extra, per_send) in [
        ("Plain", vec!["--count", "10000", "--concurrency", "128"], 1u64),
        ("Compressed", vec!["--count", "1000", "--size", "5000"], 1),
        ("Batch", vec!["--count", "500", "--batch", "10"], 10),
    ] {
        let topic = format!("MqtuiProduce{name}{pid}");
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_mqtui"))
            .args(["produce", "--namesrv", &namesrv, "--topic", &topic, "--output", "jsonl"])
            .args(&extra)
            .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        let failed: Vec<&str> =
            text.lines().filter(|l| l.starts_with("{\"type\":\"result\"") && !l.contains("\"SEND_OK\"")).collect();
        // The peer, as the Java broker, sheds load when a request waited 200 ms in its send queue
        // (SYSTEM_BUSY, "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while"): a
        // loaded CI machine can make it do so. Such a send fails as a Java client's does (a broker
        // error, not retried); anything else is a failure of the test.
        let shed = |l: &str| l.contains("CODE: 2 ") && l.contains("flow control");
        // The topic is new: each peer broker creates it from TBW102 when its first sends arrive,
        // and the peer can answer some of the first concurrent ones TOPIC_NOT_EXIST (17) while
        // it does (seen with batches in CI: sends 3, 4, 5 and 11 of broker-a, 28 others there
        // stored). A broker error is not retried by the Java client's async send, nor by mqtui.
        let first_sends = |l: &str| {
            serde_json::from_str::<serde_json::Value>(l).ok().and_then(|v| v["send"].as_u64()).is_some_and(|n| n < 256)
        };
        let creating = |l: &str| l.contains("CODE: 17 ") && first_sends(l);
        let only_peer = !failed.is_empty()
            && failed.iter().all(|l| shed(l) || creating(l))
            && failed.len() * 20 <= text.lines().count();
        if only_peer {
            eprintln!(
                "{name}: the peer shed {} sends under load (SYSTEM_BUSY, flow control) or answered them \
                 TOPIC_NOT_EXIST while creating the new topic: {}",
                failed.len(),
                failed[0]
            );
        } else {
            // Say what the peer answered: the failed results and attempts, its own log, the summary.
            let attempts =
                text.lines().filter(|l| l.starts_with("{\"type\":\"attempt\"") && l.contains("\"error\":\""));
            let shown: Vec<&str> = failed.iter().copied().chain(attempts).take(12).collect();
            assert_eq!(
                o.status.code(),
                Some(0),
                "{name}: {}\nfailures:\n{}\nsummary: {}\nthe peer's log:\n{}",
                String::from_utf8_lossy(&o.stderr),
                shown.join("\n"),
                text.lines().last().unwrap_or(""),
                peer_log_tail()
            );
        }
        let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(summary["failed"].as_u64().unwrap(), failed.len() as u64, "{name}");
        let used = summary["brokers"].as_array().unwrap().iter().filter(|b| b["ok"].as_u64().unwrap() > 0).count();
        assert!(used >= 2, "{name}: both brokers stored messages: {summary}");
        let r = route(&topic);
        let mut offsets: std::collections::BTreeMap<(String, i64), Vec<i64>> = Default::default();
        for l in text.lines().filter(|l| l.starts_with("{\"type\":\"result\"")) {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            if only_peer && v["status"] == "FAILED" {
                assert_eq!(v["attempts"], 1, "{name}: a broker error is not retried: {v}");
                continue;
            }
            assert_eq!(v["status"], "SEND_OK", "{name}: {v}");
            let broker = v["broker"].as_str().unwrap().to_string();
            let master = r.master_addr(&broker).unwrap().to_string();
            let ids = v["offset_msg_id"].as_str().unwrap();
            assert_eq!(ids.split(',').count() as u64, per_send, "{name}: one offset id per message");
            for id in ids.split(',') {
                let (store, _) = decode_offset_msg_id(id).unwrap();
                assert_eq!(store.to_string(), master, "{name}: the offset id names the broker that stored it");
            }
            assert_eq!(v["msg_id"].as_str().unwrap().split(',').count() as u64, per_send);
            offsets
                .entry((broker, v["queue"].as_i64().unwrap()))
                .or_default()
                .push(v["queue_offset"].as_i64().unwrap());
        }
        for ((b, q), mut offs) in offsets {
            offs.sort_unstable();
            let expect: Vec<i64> = (0..offs.len() as i64).map(|i| i * per_send as i64).collect();
            assert_eq!(offs, expect, "{name}: {b} queue {q} offsets as assigned by the broker");
        }
    }
}

/// `mqtui topic create` on the real peer: both brokers create it, and the name server's route
/// then carries it with the queues asked for.
#[test]
fn topic_create_on_the_real_peer() {
    let Some(namesrv) = common::needs_env("MQTUI_PEER_NAMESRV", "scripts/test starts the real peer") else {
        return;
    };
    let topic = format!("MqtuiCreated{}", std::process::id());
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mqtui"))
            .args(args)
            .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
            .output()
            .unwrap()
    };
    let o = run(&["topic", "create", "--namesrv", &namesrv, "--topic", &topic, "--queues", "6"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).matches("created").count(), 2);
    // Brokers tell the name server on their next registration.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    loop {
        let o = run(&["route", "--namesrv", &namesrv, "--topic", &topic]);
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        if text.contains("12 writable queue(s)") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the route never showed 2 × 6 queues:\n{text}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// The last warnings and errors of the peer's brokers (scripts/test exports its state dir).
fn peer_log_tail() -> String {
    let Some(run) = std::env::var_os("MQTUI_PEERS_RUN") else { return "(MQTUI_PEERS_RUN not set)".into() };
    let mut out = Vec::new();
    for b in ["broker-a", "broker-b"] {
        let log = std::path::Path::new(&run).join(b).join("broker.log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<String> = text
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains("WARN"))
            .map(|l| {
                // Without its colours.
                let mut plain = String::new();
                let mut esc = false;
                for c in l.chars() {
                    match (esc, c) {
                        (false, '\x1b') => esc = true,
                        (true, 'm') => esc = false,
                        (false, c) => plain.push(c),
                        _ => {}
                    }
                }
                format!("{b}: {plain}")
            })
            .collect();
        out.extend(lines.into_iter().rev().take(8).rev());
    }
    out.join("\n")
}
