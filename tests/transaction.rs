//! Transactional sends against the demo cluster: half messages kept apart, END_TRANSACTION
//! committing or rolling back, and the broker's check-backs for unknown ones answered on the
//! producer's own connection, as `TransactionMQProducer` and the Java broker do.

use std::time::Duration;

use futures::future::join_all;
use mqtui::cluster::{BrokerStats, ClusterConfig, DemoCluster};
use mqtui::producer::{Producer, ProducerConfig};
use mqtui::protocol::message::Message;
use mqtui::protocol::transaction::LocalState;

fn sum(stats: &[BrokerStats], f: fn(&BrokerStats) -> u64) -> u64 {
    stats.iter().map(f).sum()
}

#[tokio::test]
async fn commits_rollbacks_and_unknowns_resolved_by_the_check_back() {
    let c = DemoCluster::start(ClusterConfig { brokers: 2, ..ClusterConfig::default() }).await.unwrap();
    let p = Producer::new(ProducerConfig {
        namesrvs: vec![c.namesrv_addr().to_string()],
        transaction_check: LocalState::Commit,
        ..ProducerConfig::default()
    });
    let states = [LocalState::Commit, LocalState::Rollback, LocalState::Unknown];
    let outcomes = join_all((0..30).map(|i| {
        let mut m = Message::new("TxTopic", format!("tx {i}").into_bytes());
        m.set_property("DELAY", "3");
        p.send_in_transaction(m, states[i % 3])
    }))
    .await;
    for (i, o) in outcomes.iter().enumerate() {
        assert_eq!(o.status_name(), "SEND_OK", "{o:?}");
        let t = o.transaction.as_ref().expect("a transaction");
        assert_eq!(t.local, states[i % 3]);
        assert_eq!(t.end, Ok(()), "END_TRANSACTION written");
        assert_eq!(o.attempts.len(), 1);
    }
    // END_TRANSACTION is oneway: wait until the brokers have read them.
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while sum(&c.stats(), |s| s.committed + s.rolled_back + s.end_unknown) < 30 && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = c.stats();
    assert_eq!(sum(&s, |s| s.half), 30, "{s:?}");
    assert_eq!((sum(&s, |s| s.committed), sum(&s, |s| s.rolled_back), sum(&s, |s| s.end_unknown)), (10, 10, 10));
    assert_eq!(sum(&s, |s| s.half_pending), 10, "the unknown ones wait");
    assert_eq!(sum(&s, |s| s.delayed), 0, "a transaction's delay level is cleared, as Java does");
    // 6 s after, the brokers check back; mqtui answers commit.
    let until = std::time::Instant::now() + Duration::from_secs(12);
    while sum(&c.stats(), |s| s.half_pending) > 0 && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = c.stats();
    assert_eq!(sum(&s, |s| s.half_pending), 0, "every unknown resolved: {s:?}");
    assert_eq!(sum(&s, |s| s.committed), 20);
    assert!(sum(&s, |s| s.check_backs) >= 10);
    assert!(p.counters().check_backs >= 10);
    // Stored on the topic: 20 messages (+ 30 half messages on the half topic).
    assert_eq!(sum(&s, |s| s.messages), 50);
}

#[tokio::test]
async fn a_half_message_that_cannot_be_stored_ends_nothing() {
    let c = DemoCluster::start(ClusterConfig { brokers: 1, ..ClusterConfig::default() }).await.unwrap();
    c.update_fault("broker-a", |f| f.error_code = Some(25)).unwrap();
    let p = Producer::new(ProducerConfig {
        namesrvs: vec![c.namesrv_addr().to_string()],
        heartbeats: false,
        ..ProducerConfig::default()
    });
    let o = p.send_in_transaction(Message::new("TxTopic", &b"x"[..]), LocalState::Commit).await;
    let f = o.result.as_ref().unwrap_err();
    assert!(f.message.starts_with("send message Exception: "), "{}", f.message);
    assert!(o.transaction.is_none());
    assert_eq!(o.attempts.len(), 1, "code 25 is not among retryResponseCodes: no retry");
    assert_eq!(c.stats()[0].half, 0);
}
