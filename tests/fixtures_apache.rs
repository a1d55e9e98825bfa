//! Replies captured byte for byte from Apache RocketMQ 5.3.3's name server and broker
//! (`examples/capture_peer.rs` against `scripts/apache-rocketmq start 2`, in
//! tests/fixtures/apache; and against servers started with
//! `MQTUI_APACHE_JVM_OPTS=-Drocketmq.serialize.type=ROCKETMQ`, in
//! tests/fixtures/apache/rocketmq-serialized), decoded by mqtui's codec and compared with what
//! the demo cluster answers to the same requests. They always run.

mod common;

use bytes::Bytes;
use common::fixture_in;
use mqtui::cluster::{ClusterConfig, DemoCluster};
use mqtui::protocol::message::Message;
use mqtui::protocol::msgid::{decode_offset_msg_id, UniqIdGenerator};
use mqtui::protocol::properties;
use mqtui::protocol::route::{ClusterInfo, TopicRouteData};
use mqtui::protocol::send::{process_send_response, single_request, SendStatus, SendTarget};
use mqtui::remoting::{Connection, ExtFields, LanguageCode, RemotingCommand, RequestCode, ResponseCode, SerializeType};

fn fixture(name: &str) -> RemotingCommand {
    let cmd = fixture_in("apache", name);
    assert_eq!(cmd.language, LanguageCode::Java, "{name}");
    cmd
}

#[test]
fn the_java_name_servers_routes_and_cluster_info() {
    let r = fixture("route_tbw102.bin");
    assert_eq!(r.code, 0);
    let route = TopicRouteData::parse(&r.body).unwrap();
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_ok(), "a current client gets standard JSON");
    assert_eq!(route.master_addr("broker-a"), Some("127.0.0.1:30911"));
    assert_eq!(route.master_addr("broker-b"), Some("127.0.0.1:30921"));
    // TBW102: 8 queues, perm 7 (inherit) on each broker.
    assert_eq!(route.queue_datas.iter().map(|q| (q.write_queue_nums, q.perm)).collect::<Vec<_>>(), [(8, 7), (8, 7)]);

    // A client older than 4.9.4 gets fastjson's bare keys; the same route.
    let old = fixture("route_tbw102_v0.bin");
    assert!(serde_json::from_slice::<serde_json::Value>(&old.body).is_err());
    assert_eq!(TopicRouteData::parse(&old.body).unwrap(), route);

    // Asked in the ROCKETMQ serialization, the name server answers in JSON all the same.
    let bin = fixture("route_tbw102_rocketmq.bin");
    assert_eq!(bin.serialize_type, SerializeType::Json);
    assert_eq!(TopicRouteData::parse(&bin.body).unwrap(), route);

    let missing = fixture("route_missing.bin");
    assert_eq!(missing.code, ResponseCode::TOPIC_NOT_EXIST.code());
    assert_eq!(
        missing.remark.as_deref(),
        Some(
            "No topic route info in name server for the topic: MqtuiNoSuchTopic\n\
             See https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."
        )
    );

    // Cluster info: bare keys whatever the client's version.
    for name in ["cluster_info.bin", "cluster_info_v0.bin"] {
        let c = fixture(name);
        assert!(std::str::from_utf8(&c.body).unwrap().contains("{0:\""), "{name}");
        let info = ClusterInfo::parse(&c.body).unwrap();
        assert_eq!(info.cluster_addr_table["DefaultCluster"].len(), 2);
        assert_eq!(info.broker_addr_table["broker-b"].master_addr(), Some("127.0.0.1:30921"));
    }
}

#[test]
fn the_java_brokers_send_replies() {
    let store: std::net::SocketAddr = "127.0.0.1:30911".parse().unwrap();
    let mut offsets = Vec::new();
    for name in ["send_v2_json.bin", "send_v2_rocketmq.bin", "send_v1_json.bin", "send_compressed.bin"] {
        let f = fixture(name);
        assert_eq!(f.serialize_type, SerializeType::Json, "{name}: JSON whatever the request's serialization");
        assert!(f.ext_fields.get("transactionId").is_some_and(|t| t.len() == 32), "{name}: transactionId = UNIQ_KEY");
        let r = process_send_response(&f).unwrap();
        assert_eq!(r.status, SendStatus::SEND_OK, "{name}");
        assert_eq!(r.header.region_id.as_deref(), Some("DefaultRegion"));
        assert_eq!(r.header.trace_on, Some(true));
        assert_eq!(decode_offset_msg_id(&r.header.msg_id).unwrap().0, store, "{name}");
        offsets.push(r.header.queue_offset);
    }
    assert_eq!(offsets, [0, 1, 2, 3]);
    let batch = process_send_response(&fixture("send_batch.bin")).unwrap();
    assert_eq!(batch.header.queue_offset, 4);
    let commit: Vec<i64> = batch.header.msg_id.split(',').map(|i| decode_offset_msg_id(i).unwrap().1).collect();
    assert_eq!(commit.len(), 3);
    assert!(commit.windows(2).all(|w| w[0] < w[1]));
    let unknown = fixture("unknown_code.bin");
    assert_eq!(unknown.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED.code());
    assert_eq!(unknown.remark.as_deref(), Some(" request type 9999 not supported"));
}

/// The same replies from servers configured for the binary serialization
/// (`-Drocketmq.serialize.type=ROCKETMQ`): every frame a ROCKETMQ header, the same contents.
#[test]
fn the_java_servers_replies_in_the_rocketmq_serialization() {
    let dir = "apache/rocketmq-serialized";
    for name in [
        "route_tbw102.bin",
        "route_tbw102_v0.bin",
        "route_missing.bin",
        "cluster_info.bin",
        "send_v2_json.bin",
        "send_batch.bin",
        "unknown_code.bin",
    ] {
        assert_eq!(fixture_in(dir, name).serialize_type, SerializeType::RocketMq, "{name}");
    }
    // (That cluster ran on other ports: broker-a 30931, broker-b 30941.)
    let bin = TopicRouteData::parse(&fixture_in(dir, "route_tbw102.bin").body).unwrap();
    assert_eq!(bin.master_addr("broker-a"), Some("127.0.0.1:30931"));
    assert_eq!(bin.master_addr("broker-b"), Some("127.0.0.1:30941"));
    let old = TopicRouteData::parse(&fixture_in(dir, "route_tbw102_v0.bin").body).unwrap();
    assert_eq!(old, bin);
    let info = ClusterInfo::parse(&fixture_in(dir, "cluster_info.bin").body).unwrap();
    assert_eq!(info.cluster_addr_table["DefaultCluster"].len(), 2);
    let missing = fixture_in(dir, "route_missing.bin");
    assert_eq!(missing.code, ResponseCode::TOPIC_NOT_EXIST.code());
    assert!(missing.remark.unwrap().contains("MqtuiNoSuchTopic"));
    let mut offsets = Vec::new();
    for name in ["send_v2_json.bin", "send_v2_rocketmq.bin", "send_v1_json.bin", "send_compressed.bin"] {
        let f = fixture_in(dir, name);
        assert!(f.ext_fields.get("transactionId").is_some(), "{name}");
        let r = process_send_response(&f).unwrap();
        assert_eq!(r.status, SendStatus::SEND_OK, "{name}");
        assert_eq!(r.header.region_id.as_deref(), Some("DefaultRegion"));
        offsets.push(r.header.queue_offset);
    }
    assert_eq!(offsets, [0, 1, 2, 3]);
    let batch = process_send_response(&fixture_in(dir, "send_batch.bin")).unwrap();
    assert_eq!(batch.header.msg_id.split(',').count(), 3);
    let unknown = fixture_in(dir, "unknown_code.bin");
    assert_eq!(unknown.remark.as_deref(), Some(" request type 9999 not supported"));
}

/// The demo cluster's replies have the Java servers' shape: the same extFields on a send reply,
/// JSON to a ROCKETMQ request, the same remarks for a missing topic and an unknown code, bare
/// keys in cluster info.
#[tokio::test]
async fn the_demo_cluster_answers_as_the_java_servers_do() {
    let c = DemoCluster::start(ClusterConfig { brokers: 2, ..ClusterConfig::default() }).await.unwrap();
    let t = std::time::Duration::from_secs(3);
    let b = Connection::connect(&c.broker_addr("broker-a").unwrap().to_string(), t).await.unwrap();
    let ids = UniqIdGenerator::default();
    let mut m = Message::new("MqtuiFixture", Bytes::from_static(b"hello")).with_tags("fixture");
    m.set_property(properties::UNIQ_KEY, ids.next_id());
    let to = SendTarget { producer_group: "g", broker_name: "broker-a", queue_id: 0, smart: true };
    let ours = b.invoke(single_request(&m, &to).with_serialize_type(SerializeType::RocketMq), t).await.unwrap();
    let java = fixture("send_v2_rocketmq.bin");
    let keys = |c: &RemotingCommand| {
        let mut k: Vec<String> = c.ext_fields.iter().map(|(k, _)| k.to_string()).collect();
        k.sort();
        k
    };
    assert_eq!(keys(&ours), keys(&java));
    assert_eq!(ours.ext_fields.get("transactionId"), m.uniq_key());
    assert_eq!((ours.serialize_type, ours.language), (SerializeType::Json, LanguageCode::Java));

    let unknown = b.invoke(RemotingCommand::request(9999, ExtFields::new()), t).await.unwrap();
    assert_eq!(
        (unknown.code, unknown.remark.clone()),
        (fixture("unknown_code.bin").code, fixture("unknown_code.bin").remark)
    );

    let ns = Connection::connect(&c.namesrv_addr().to_string(), t).await.unwrap();
    let info = ns
        .invoke(RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO.code(), ExtFields::new()), t)
        .await
        .unwrap();
    assert!(std::str::from_utf8(&info.body).unwrap().contains("{0:\""), "bare keys, as the Java name server writes");
    let no_topic = ns
        .invoke(RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC.code(), ExtFields::new()), t)
        .await
        .unwrap();
    assert_eq!(no_topic.code, ResponseCode::TOPIC_NOT_EXIST.code());
    assert!(no_topic.remark.unwrap().ends_with(
        "for the topic: null\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."
    ));
}
