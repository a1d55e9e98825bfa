//! The demo broker reads send headers as the Java broker does: the requests Apache RocketMQ's
//! Java client builds (4.9.8 and 5.3.3, written by its own classes into tests/fixtures/apache by
//! tests/interop/apache-rocketmq/RequestFrames.java) are stored, and the hand-made header table
//! of tests/common/headers.rs gets the answers the Java broker gives (tests/apache.rs runs the
//! same table against Apache RocketMQ's broker).

mod common;

use mqtui::cluster::{ClusterConfig, DemoCluster};
use mqtui::remoting::SerializeType;

async fn demo() -> DemoCluster {
    DemoCluster::start(ClusterConfig { brokers: 1, ..ClusterConfig::default() }).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_java_clients_requests_are_stored() {
    let c = demo().await;
    let addr = c.broker_addr("broker-a").unwrap().to_string();
    for v in ["java-498", "java-533"] {
        for (name, batch) in [("send_v2_json", 1), ("send_v2_rocketmq", 1), ("send_v1_json", 1), ("send_batch_json", 3)]
        {
            let path = format!("{}/tests/fixtures/apache/{v}_{name}.bin", env!("CARGO_MANIFEST_DIR"));
            let frame = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let a = addr.clone();
            let r = tokio::task::spawn_blocking(move || common::headers::exchange(&a, &frame)).await.unwrap();
            assert_eq!(r.code, 0, "{v} {name}: {:?}", r.remark);
            assert_eq!(r.ext_fields.get("queueId"), Some("1"), "{v} {name}");
            assert_eq!(r.ext_fields.get("msgId").unwrap().split(',').count(), batch, "{v} {name}");
            // The reply in JSON, whatever the request's serialization, as the Java broker answers.
            assert_eq!(r.serialize_type, SerializeType::Json, "{v} {name}");
        }
    }
    assert_eq!(c.stats()[0].messages, 2 * 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_headers_get_the_java_brokers_answers() {
    let c = demo().await;
    let addr = c.broker_addr("broker-a").unwrap().to_string();
    let failures = tokio::task::spawn_blocking(move || common::headers::check_all(&addr, "MqtuiHeaders", "broker-a"))
        .await
        .unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
