//! The demo cluster keeps each delayed message's due time, as the Java broker's schedule (delay
//! levels) and timer (5.x) would deliver it, and counts the ones that have come due.

use std::time::Duration;

use mqtui::cluster::{ClusterConfig, DemoCluster};
use mqtui::content::{input, Content, MessageSpec};
use mqtui::producer::{Producer, ProducerConfig};

#[tokio::test]
async fn delayed_messages_are_counted_and_come_due_in_time() {
    let c = DemoCluster::start(ClusterConfig { brokers: 1, ..ClusterConfig::default() }).await.unwrap();
    let p = Producer::new(ProducerConfig {
        namesrvs: vec![c.namesrv_addr().to_string()],
        heartbeats: false,
        ..ProducerConfig::default()
    });
    // Level 1 (1 s), a 1.5 s timer, a timer an hour away, and a message for now.
    let lines = input::read(
        &b"{\"delay_level\":1}\n{\"delay_ms\":1500}\n{\"delay_ms\":3600000}\n{\"body\":\"now\"}\n"[..],
        "in",
    )
    .unwrap();
    let defaults = MessageSpec {
        topic: Some("DelayTopic".into()),
        body: Some(mqtui::content::Body::synthetic(16)),
        ..MessageSpec::default()
    };
    let content = Content::new(defaults, lines, 1).unwrap();
    for seq in 1..=4 {
        assert!(p.send(content.build(seq)).await.is_ok());
    }
    let s = &c.stats()[0];
    assert_eq!((s.messages, s.delayed, s.delayed_due), (4, 3, 0), "{s:?}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let s = &c.stats()[0];
    assert_eq!(s.delayed_due, 2, "level 1 and the 1.5 s timer are due, the hour's is not: {s:?}");
}
