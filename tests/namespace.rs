//! `--namespace`: topics and the producer group wrapped as the Java 5.x client wraps them
//! (`NS%name`), shown as the application named them. Read back from Apache RocketMQ in
//! `tests/apache_content.rs`.

use mqtui::cluster::{ClusterConfig, DemoCluster};
use mqtui::producer::{Producer, ProducerConfig};
use mqtui::protocol::message::Message;

#[tokio::test]
async fn a_namespace_wraps_the_topic_on_the_wire_and_not_in_the_outcome() {
    let c = DemoCluster::start(ClusterConfig { brokers: 1, ..ClusterConfig::default() }).await.unwrap();
    let p = Producer::new(ProducerConfig {
        namesrvs: vec![c.namesrv_addr().to_string()],
        heartbeats: false,
        namespace: Some("ns1".into()),
        ..ProducerConfig::default()
    });
    assert_eq!(p.config().group, "ns1%mqtui_producer_group", "the group as DefaultMQProducer.start wraps it");
    let o = p.send(Message::new("Orders", &b"x"[..])).await;
    assert!(o.is_ok(), "{o:?}");
    assert_eq!(&*o.topic, "Orders");
    let route = p.lookup("Orders").await.unwrap();
    assert_eq!(route.topic, "ns1%Orders", "looked up under its wrapped name");
}
