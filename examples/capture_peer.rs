//! Captures reply frames from a real RocketMQ name server and broker, byte for byte, as test
//! fixtures (each file one whole frame with its length prefix): rocketmq-rust's in
//! `tests/fixtures/peer`, Apache RocketMQ's in `tests/fixtures/apache`.
//!
//!     bash ../shared/peers/rocketmq-rust.sh start 2
//!     cargo run --example capture_peer -- 127.0.0.1:19876 tests/fixtures/peer
//!     scripts/apache-rocketmq start 2
//!     cargo run --example capture_peer -- 127.0.0.1:29876 tests/fixtures/apache

use std::time::Duration;

use bytes::Bytes;
use mqtui::protocol::message::Message;
use mqtui::protocol::msgid::UniqIdGenerator;
use mqtui::protocol::properties;
use mqtui::protocol::route::TopicRouteData;
use mqtui::protocol::send::{batch_request, single_request, SendTarget};
use mqtui::remoting::{ExtFields, RemotingCommand, RequestCode, SerializeType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends one request and returns the raw reply frame (length prefix included).
async fn exchange(addr: &str, req: &RemotingCommand) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&req.encode()).await.expect("write");
    let mut len = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut len))
        .await
        .expect("reply in time")
        .expect("read length");
    let mut frame = len.to_vec();
    frame.resize(4 + u32::from_be_bytes(len) as usize, 0);
    s.read_exact(&mut frame[4..]).await.expect("read frame");
    frame
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let namesrv = args.get(1).map_or("127.0.0.1:19876", String::as_str);
    let dir = std::path::PathBuf::from(args.get(2).map_or("tests/fixtures/peer", String::as_str));
    std::fs::create_dir_all(&dir).unwrap();
    let save = |name: &str, frame: &[u8]| {
        std::fs::write(dir.join(name), frame).unwrap();
        println!("{name}: {} bytes", frame.len());
    };

    let route_req = RemotingCommand::request(
        RequestCode::GET_ROUTEINFO_BY_TOPIC.code(),
        ExtFields::from_iter([("topic", "TBW102")]),
    );
    let frame = exchange(namesrv, &route_req).await;
    save("route_tbw102.bin", &frame);
    let route =
        TopicRouteData::parse(&RemotingCommand::decode_frame(Bytes::from(frame[4..].to_vec())).unwrap().body).unwrap();
    let missing = RemotingCommand::request(
        RequestCode::GET_ROUTEINFO_BY_TOPIC.code(),
        ExtFields::from_iter([("topic", "MqtuiNoSuchTopic")]),
    );
    save("route_missing.bin", &exchange(namesrv, &missing).await);
    let info = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO.code(), ExtFields::new());
    save("cluster_info.bin", &exchange(namesrv, &info).await);
    // A client older than 4.9.4 (version 0): fastjson's bare numeric keys.
    let mut old = route_req.clone();
    old.version = 0;
    save("route_tbw102_v0.bin", &exchange(namesrv, &old).await);
    let mut old = info.clone();
    old.version = 0;
    save("cluster_info_v0.bin", &exchange(namesrv, &old).await);
    // Asked in the ROCKETMQ serialization.
    save(
        "route_tbw102_rocketmq.bin",
        &exchange(namesrv, &route_req.clone().with_serialize_type(SerializeType::RocketMq)).await,
    );

    let broker = route.master_addr("broker-a").expect("broker-a in the route").to_string();
    let ids = UniqIdGenerator::default();
    let msg = |body: Vec<u8>| {
        let mut m = Message::new("MqtuiFixture", body).with_tags("fixture").with_keys(&["k1"]);
        m.set_property(properties::UNIQ_KEY, ids.next_id());
        m
    };
    let to = |smart| SendTarget { producer_group: "mqtui_fixture", broker_name: "broker-a", queue_id: 0, smart };
    save("send_v2_json.bin", &exchange(&broker, &single_request(&msg(b"hello".to_vec()), &to(true))).await);
    save(
        "send_v2_rocketmq.bin",
        &exchange(
            &broker,
            &single_request(&msg(b"hello".to_vec()), &to(true)).with_serialize_type(SerializeType::RocketMq),
        )
        .await,
    );
    save("send_v1_json.bin", &exchange(&broker, &single_request(&msg(b"hello".to_vec()), &to(false))).await);
    save("send_compressed.bin", &exchange(&broker, &single_request(&msg(vec![b'z'; 8192]), &to(true))).await);
    let batch: Vec<Message> = (0..3).map(|i| msg(format!("batch {i}").into_bytes())).collect();
    let props = properties::encode([(properties::UNIQ_KEY, ids.next_id().as_str()), (properties::WAIT, "true")]);
    save("send_batch.bin", &exchange(&broker, &batch_request("MqtuiFixture", &batch, &props, &to(true))).await);
    save("unknown_code.bin", &exchange(&broker, &RemotingCommand::request(9999, ExtFields::new())).await);
    println!("broker-a: {broker}");
}
