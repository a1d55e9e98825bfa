//! The demo cluster over real TCP, through the same client connection the producer uses.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use mqtui::cluster::{BrokerFault, ClusterConfig, DemoCluster, Scenario};
use mqtui::protocol::message::Message;
use mqtui::protocol::msgid::{decode_offset_msg_id, UniqIdGenerator};
use mqtui::protocol::properties;
use mqtui::protocol::route::TopicRouteData;
use mqtui::protocol::send::{batch_request, process_send_response, single_request, SendStatus, SendTarget};
use mqtui::remoting::{Connection, ExtFields, InvokeError, RemotingCommand, RequestCode, ResponseCode, SerializeType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const T: Duration = Duration::from_secs(3);

async fn cluster(brokers: usize) -> DemoCluster {
    DemoCluster::start(ClusterConfig { brokers, ..ClusterConfig::default() }).await.unwrap()
}

async fn connect(addr: std::net::SocketAddr) -> Connection {
    Connection::connect(&addr.to_string(), T).await.unwrap()
}

fn route_request(topic: &str, version: i32) -> RemotingCommand {
    let mut c =
        RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC.code(), ExtFields::from_iter([("topic", topic)]));
    c.version = version;
    c
}

fn message(ids: &UniqIdGenerator, body: impl Into<Bytes>) -> Message {
    let mut m = Message::new("DemoTopic", body).with_tags("t");
    m.set_property(properties::UNIQ_KEY, ids.next_id());
    m
}

fn to(broker: &str, queue: i32, smart: bool) -> SendTarget<'_> {
    SendTarget { producer_group: "test_group", broker_name: broker, queue_id: queue, smart }
}

#[tokio::test]
async fn routes_for_every_topic_in_both_json_styles() {
    let c = cluster(3).await;
    let ns = connect(c.namesrv_addr()).await;
    let resp = ns.invoke(route_request("AnyTopic", 479), T).await.unwrap();
    assert_eq!(resp.code, 0);
    let body = std::str::from_utf8(&resp.body).unwrap();
    assert!(body.contains(r#"{"0":"127.0.0.1:"#), "{body}");
    let route = TopicRouteData::parse(&resp.body).unwrap();
    let queues = route.publish_queues("AnyTopic");
    assert_eq!(queues.len(), 12);
    assert_eq!(route.master_addr("broker-b"), Some(c.broker_addr("broker-b").unwrap().to_string().as_str()));

    // A client older than 4.9.4 gets fastjson's bare numeric keys, which we still read.
    let old = ns.invoke(route_request("AnyTopic", 100), T).await.unwrap();
    assert!(serde_json::from_slice::<serde_json::Value>(&old.body).is_err());
    assert_eq!(TopicRouteData::parse(&old.body).unwrap(), route);

    let info = ns
        .invoke(RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO.code(), ExtFields::new()), T)
        .await
        .unwrap();
    let info = mqtui::protocol::ClusterInfo::parse(&info.body).unwrap();
    assert_eq!(info.cluster_addr_table["DemoCluster"].len(), 3);
}

#[tokio::test]
async fn sends_in_every_encoding_get_offsets_and_offset_ids() {
    let c = cluster(2).await;
    let addr = c.broker_addr("broker-a").unwrap();
    let b = connect(addr).await;
    let ids = UniqIdGenerator::default();
    let mut offsets = Vec::new();
    let mut commit = Vec::new();
    for (smart, st) in [
        (true, SerializeType::Json),
        (true, SerializeType::RocketMq),
        (false, SerializeType::Json),
        (false, SerializeType::RocketMq),
    ] {
        let req = single_request(&message(&ids, &b"hello"[..]), &to("broker-a", 2, smart)).with_serialize_type(st);
        let resp = b.invoke(req, T).await.unwrap();
        assert_eq!(resp.serialize_type, SerializeType::Json, "a reply is JSON, as a Java server's is");
        let r = process_send_response(&resp).unwrap();
        assert_eq!(r.status, SendStatus::SEND_OK);
        assert_eq!(r.header.queue_id, 2);
        assert_eq!(r.header.region_id.as_deref(), Some("DefaultRegion"));
        let (store, off) = decode_offset_msg_id(&r.header.msg_id).unwrap();
        assert_eq!(store, addr);
        offsets.push(r.header.queue_offset);
        commit.push(off);
    }
    assert_eq!(offsets, vec![0, 1, 2, 3], "per-queue offsets count up");
    assert!(commit.windows(2).all(|w| w[0] < w[1]), "commit-log offsets grow: {commit:?}");

    // A compressed body (8 KiB) and a batch of 3.
    let big = single_request(&message(&ids, vec![b'z'; 8192]), &to("broker-a", 0, true));
    assert_eq!(big.ext_fields.get("f"), Some("769"));
    let r = process_send_response(&b.invoke(big, T).await.unwrap()).unwrap();
    assert_eq!(r.header.queue_offset, 0);
    let batch: Vec<Message> = (0..3).map(|i| message(&ids, format!("m{i}"))).collect();
    let req = batch_request("DemoTopic", &batch, "WAIT\u{1}true\u{2}", &to("broker-a", 2, true));
    let r = process_send_response(&b.invoke(req, T).await.unwrap()).unwrap();
    assert_eq!(r.header.queue_offset, 4);
    assert_eq!(r.header.msg_id.split(',').count(), 3);

    // The same UNIQ_KEY twice is one distinct id and one duplicate.
    let dup = message(&ids, &b"again"[..]);
    for _ in 0..2 {
        let resp = b.invoke(single_request(&dup, &to("broker-a", 1, true)), T).await.unwrap();
        assert_eq!(resp.code, 0);
    }
    let s = &c.stats()[0];
    assert_eq!(s.name, "broker-a");
    assert_eq!(s.sends, 8);
    assert_eq!(s.messages, 10);
    assert_eq!(s.distinct_keys, 9);
    assert_eq!(s.duplicate_keys, 1);
    assert_eq!(c.stats()[1].messages, 0);
}

#[tokio::test]
async fn bad_requests_get_errors_not_silence() {
    let c = cluster(1).await;
    let b = connect(c.broker_addr("broker-a").unwrap()).await;
    // Unknown code.
    let resp = b.invoke(RemotingCommand::request(9999, ExtFields::new()), T).await.unwrap();
    assert_eq!(resp.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED.code());
    assert!(resp.remark.unwrap().contains("9999 not supported"));
    // A queue the topic does not have: INVALID_PARAMETER, as the Java broker answers it.
    let ids = UniqIdGenerator::default();
    let resp = b.invoke(single_request(&message(&ids, &b"x"[..]), &to("broker-a", 4, true)), T).await.unwrap();
    assert_eq!(resp.code, ResponseCode::INVALID_PARAMETER.code());
    assert!(resp.remark.unwrap().contains("queueId[4] is illegal"));
    // A send header without a topic.
    let resp = b.invoke(RemotingCommand::request(310, ExtFields::from_iter([("a", "g")])), T).await.unwrap();
    assert_eq!(resp.code, ResponseCode::SYSTEM_ERROR.code());
    // Oneway requests get no reply; the next request still gets its own.
    b.send_oneway(RemotingCommand::request(RequestCode::HEART_BEAT.code(), ExtFields::new())).unwrap();
    let hb = RemotingCommand::request(RequestCode::HEART_BEAT.code(), ExtFields::new());
    let opaque = hb.opaque;
    let resp = b.invoke(hb, T).await.unwrap();
    assert_eq!((resp.code, resp.opaque), (0, opaque));
}

#[tokio::test]
async fn injected_errors_and_store_statuses() {
    let c = cluster(2).await;
    let b = connect(c.broker_addr("broker-b").unwrap()).await;
    let ids = UniqIdGenerator::default();
    c.update_fault("broker-b", |f| f.error_code = Some(ResponseCode::SYSTEM_BUSY.code())).unwrap();
    let resp = b.invoke(single_request(&message(&ids, &b"x"[..]), &to("broker-b", 0, true)), T).await.unwrap();
    let e = process_send_response(&resp).unwrap_err();
    assert_eq!(e.code, 2);
    assert!(e.remark.contains("system busy"));
    assert_eq!(c.stats()[1].messages, 0, "an error reply stores nothing");

    c.set_fault(
        "broker-b",
        BrokerFault { store_status: Some(ResponseCode::FLUSH_DISK_TIMEOUT.code()), ..Default::default() },
    )
    .unwrap();
    let resp = b.invoke(single_request(&message(&ids, &b"x"[..]), &to("broker-b", 0, true)), T).await.unwrap();
    let r = process_send_response(&resp).unwrap();
    assert_eq!(r.status, SendStatus::FLUSH_DISK_TIMEOUT);
    assert_eq!(c.stats()[1].messages, 1, "a non-OK store status still stores");
    assert!(c.set_fault("broker-z", BrokerFault::default()).is_err());
}

#[tokio::test]
async fn latency_delays_replies_without_blocking_the_pipeline() {
    let c = cluster(1).await;
    let b = connect(c.broker_addr("broker-a").unwrap()).await;
    c.update_fault("broker-a", |f| f.latency = Duration::from_millis(300)).unwrap();
    let ids = UniqIdGenerator::default();
    // Per-request timeouts: a short one times out, a long one on the same connection does not.
    let short =
        b.invoke(single_request(&message(&ids, &b"x"[..]), &to("broker-a", 0, true)), Duration::from_millis(50));
    let long = b.invoke(single_request(&message(&ids, &b"x"[..]), &to("broker-a", 0, true)), T);
    let start = std::time::Instant::now();
    let (short, long) = tokio::join!(short, long);
    assert_eq!(short.unwrap_err(), InvokeError::Timeout(50));
    assert_eq!(long.unwrap().code, 0);
    assert!(start.elapsed() >= Duration::from_millis(300));
    // The late reply to the timed-out request was dropped; the connection is fine.
    c.set_fault("broker-a", BrokerFault::default()).unwrap();
    let r = b.invoke(single_request(&message(&ids, &b"x"[..]), &to("broker-a", 0, true)), T).await.unwrap();
    assert_eq!(process_send_response(&r).unwrap().header.queue_offset, 2);
}

#[tokio::test]
async fn pipelined_requests_are_matched_by_opaque() {
    let c = cluster(1).await;
    let b = connect(c.broker_addr("broker-a").unwrap()).await;
    let ids = UniqIdGenerator::default();
    let futs = (0..2000).map(|i| {
        let req = single_request(&message(&ids, format!("m{i}")), &to("broker-a", i % 4, true));
        let q = i % 4;
        let b = b.clone();
        async move {
            let r = b.invoke(req, T).await.unwrap();
            let r = process_send_response(&r).unwrap();
            assert_eq!(r.header.queue_id, q);
            (r.header.queue_id, r.header.queue_offset)
        }
    });
    let got: HashSet<_> = futures::future::join_all(futs).await.into_iter().collect();
    assert_eq!(got.len(), 2000, "every reply reached its own request");
    assert_eq!(b.in_flight(), 0);
}

#[tokio::test]
async fn hang_close_down_and_up() {
    let c = cluster(2).await;
    let ids = UniqIdGenerator::default();
    let send = |b: Connection, broker: &'static str, t: Duration| {
        let req = single_request(&message(&ids, &b"x"[..]), &to(broker, 0, true));
        async move { b.invoke(req, t).await }
    };

    // Hang: read, never answer → timeout; broker-a is unaffected.
    c.update_fault("broker-b", |f| f.hang = true).unwrap();
    let b = connect(c.broker_addr("broker-b").unwrap()).await;
    assert_eq!(send(b.clone(), "broker-b", Duration::from_millis(100)).await.unwrap_err(), InvokeError::Timeout(100));
    let a = connect(c.broker_addr("broker-a").unwrap()).await;
    assert_eq!(send(a.clone(), "broker-a", T).await.unwrap().code, 0);

    // Close on send: the broker closes the connection (a FIN), the request fails as closed by the peer.
    c.set_fault("broker-b", BrokerFault { close_on_send: true, ..Default::default() }).unwrap();
    let b = connect(c.broker_addr("broker-b").unwrap()).await;
    assert!(matches!(send(b.clone(), "broker-b", T).await.unwrap_err(), InvokeError::ClosedByPeer(_)));
    assert!(b.is_closed());

    // Down: connections dropped, new ones refused ("send request failed"); up: same address again.
    c.set_fault("broker-b", BrokerFault::default()).unwrap();
    let b = connect(c.broker_addr("broker-b").unwrap()).await;
    assert_eq!(send(b.clone(), "broker-b", T).await.unwrap().code, 0);
    c.update_fault("broker-b", |f| f.down = true).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(b.is_closed(), "down drops open connections");
    assert!(matches!(send(b.clone(), "broker-b", T).await.unwrap_err(), InvokeError::SendRequestFailed(_)));
    let addr = c.broker_addr("broker-b").unwrap().to_string();
    assert!(matches!(Connection::connect(&addr, T).await.err().unwrap(), InvokeError::SendRequestFailed(_)));
    c.update_fault("broker-b", |f| f.down = false).unwrap();
    let mut back = None;
    for _ in 0..50 {
        if let Ok(conn) = Connection::connect(&addr, T).await {
            back = Some(conn);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let b = back.expect("broker-b listens again");
    assert_eq!(send(b, "broker-b", T).await.unwrap().code, 0);
    assert_eq!(send(a, "broker-a", T).await.unwrap().code, 0);
}

#[tokio::test]
async fn name_server_faults() {
    let c = cluster(1).await;
    let ns = connect(c.namesrv_addr()).await;
    c.update_namesrv_fault(|f| {
        f.missing_topics.insert("Gone".into());
    });
    let r = ns.invoke(route_request("Gone", 479), T).await.unwrap();
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST.code());
    assert!(r.remark.unwrap().contains("Gone"));
    assert_eq!(ns.invoke(route_request("Other", 479), T).await.unwrap().code, 0);

    c.update_namesrv_fault(|f| f.latency = Duration::from_millis(200));
    assert_eq!(
        ns.invoke(route_request("Other", 479), Duration::from_millis(50)).await.unwrap_err(),
        InvokeError::Timeout(50)
    );

    c.update_namesrv_fault(|f| f.down = true);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(ns.is_closed());
    assert!(Connection::connect(&c.namesrv_addr().to_string(), T).await.is_err());
    c.clear_all();
    let mut ok = false;
    for _ in 0..50 {
        if let Ok(conn) = Connection::connect(&c.namesrv_addr().to_string(), T).await {
            ok = conn.invoke(route_request("Gone", 479), T).await.unwrap().code == 0;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "name server back, topic back");
}

/// Garbage on one connection closes that connection only.
#[tokio::test]
async fn bad_frames_close_only_the_offending_connection() {
    let c = cluster(1).await;
    let addr = c.broker_addr("broker-a").unwrap();
    let good = connect(addr).await;
    let ping = || RemotingCommand::request(RequestCode::HEART_BEAT.code(), ExtFields::new());
    assert_eq!(good.invoke(ping(), T).await.unwrap().code, 0);

    let bad_inputs: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),    // garbage: a huge length
        vec![0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0],         // oversized frame
        vec![0, 0, 0, 2, 0, 0],                           // length too short for the header word
        vec![0, 0, 0, 8, 0, 0, 0, 100, b'{', b'}', 0, 0], // header length past the frame
        vec![0, 0, 0, 6, 0, 0, 0, 2, b'{', b'x'],         // invalid JSON
        vec![0, 0, 0, 6, 9, 0, 0, 2, b'{', b'}'],         // unknown serialize type
        vec![0, 0, 0, 6, 1, 0, 0, 2, 0, 1],               // truncated binary header
        {
            let mut f = ping().encode().to_vec();
            f.truncate(f.len() - 3); // truncated frame, then EOF
            f
        },
    ];
    for (i, input) in bad_inputs.iter().enumerate() {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(input).await.unwrap();
        if i == bad_inputs.len() - 1 {
            s.shutdown().await.unwrap();
        }
        let mut buf = [0u8; 64];
        let n =
            tokio::time::timeout(T, s.read(&mut buf)).await.expect("the server closes a bad connection").unwrap_or(0);
        assert_eq!(n, 0, "input {i}: no reply, connection closed");
        assert_eq!(good.invoke(ping(), T).await.unwrap().code, 0, "after input {i}");
    }
    assert!(!good.is_closed());
    let fresh = connect(addr).await;
    assert_eq!(fresh.invoke(ping(), T).await.unwrap().code, 0);
}

/// A scenario's timeline runs on tokio's clock: with the clock paused, its steps land exactly.
#[tokio::test(start_paused = true)]
async fn scenarios_follow_their_timeline() {
    let c = cluster(3).await;
    let s = Scenario::load("broker-down").unwrap();
    let mut events = c.subscribe();
    c.run_scenario(s).unwrap();
    tokio::time::sleep(Duration::from_millis(2999)).await;
    assert!(!c.fault("broker-b").unwrap().down);
    tokio::time::sleep(Duration::from_millis(2)).await;
    assert!(c.fault("broker-b").unwrap().down);
    assert!(!c.fault("broker-a").unwrap().down);
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(c.fault("broker-b").unwrap().is_healthy());
    // It repeats every 40 s.
    tokio::time::sleep(Duration::from_secs(28)).await;
    assert!(c.fault("broker-b").unwrap().down);
    let mut texts = Vec::new();
    while let Ok(e) = events.try_recv() {
        texts.push(e.text);
    }
    assert!(texts.iter().any(|t| t == "scenario broker-down: broker-b: down"), "{texts:?}");

    let two = cluster(2).await;
    let demo = Scenario::load("demo").unwrap();
    let err = two.run_scenario(demo).unwrap_err().to_string();
    assert!(err.contains("broker-c"), "{err}");
}

/// A request the server sends on a client connection that nobody answers here gets
/// REQUEST_CODE_NOT_SUPPORTED, as Java's remoting answers a code it has no processor for; a
/// oneway one gets nothing; the connection goes on either way.
#[tokio::test]
async fn a_client_connection_answers_requests_it_has_no_handler_for() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut oneway = RemotingCommand::request(777, ExtFields::new());
        oneway.opaque = 41;
        oneway.mark_oneway();
        let mut req = RemotingCommand::request(999, ExtFields::new());
        req.opaque = 42;
        s.write_all(&oneway.encode()).await.unwrap();
        s.write_all(&req.encode()).await.unwrap();
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await.unwrap();
        let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
        s.read_exact(&mut frame).await.unwrap();
        RemotingCommand::decode_frame(Bytes::from(frame)).unwrap()
    });
    let conn = connect(addr).await;
    let answer = tokio::time::timeout(T, server).await.unwrap().unwrap();
    assert!(answer.is_response());
    assert_eq!(
        (answer.opaque, answer.code),
        (42, ResponseCode::REQUEST_CODE_NOT_SUPPORTED.code()),
        "only the two-way one"
    );
    assert_eq!(answer.remark.as_deref(), Some(" request type 999 not supported"));
    assert!(!conn.is_closed());
}
