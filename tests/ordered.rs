//! Ordered sends (`--sharding-key`, `send(msg, SelectMessageQueueByHash, key)`) against the demo
//! cluster: the key's queue as Java's hash picks it, per key in send order, and a broker that
//! fails keeps its keys' sends (retried there, never moved), as the Java async path does.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use mqtui::cluster::{ClusterConfig, DemoCluster};
use mqtui::producer::selector::hash_index;
use mqtui::producer::{Producer, ProducerConfig, SendOutcome};
use mqtui::protocol::message::Message;

const TOPIC: &str = "OrderedTopic";

fn msg(body: String) -> Message {
    Message::new(TOPIC, body.into_bytes())
}

fn producer(c: &DemoCluster) -> Producer {
    Producer::new(ProducerConfig {
        namesrvs: vec![c.namesrv_addr().to_string()],
        heartbeats: false,
        ..ProducerConfig::default()
    })
}

async fn wait_refused(c: &DemoCluster, broker: &str) {
    let addr = c.broker_addr(broker).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(addr).await.is_ok() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn each_key_goes_to_the_queue_javas_hash_picks_in_send_order() {
    let c = DemoCluster::start(ClusterConfig { brokers: 2, ..ClusterConfig::default() }).await.unwrap();
    let p = producer(&c);
    let route = p.lookup(TOPIC).await.unwrap();
    let keys: Vec<String> = (0..12).map(|i| format!("order-{i}")).collect();
    // Per key one send after the other (as an application that orders by key does); the keys
    // side by side.
    let per_key = join_all(keys.iter().map(|k| {
        let p = p.clone();
        async move {
            let mut out: Vec<Arc<SendOutcome>> = Vec::new();
            for i in 0..40 {
                out.push(p.send_ordered(msg(format!("{k} #{i}")), k, false).await);
            }
            out
        }
    }))
    .await;
    let mut queues_used = std::collections::BTreeSet::new();
    for (k, outs) in keys.iter().zip(&per_key) {
        let want = &route.queues[hash_index(k, route.queues.len())];
        let mut last = -1;
        for o in outs {
            let s = o.result.as_ref().unwrap();
            assert_eq!((&*s.broker, s.queue_id), (&*want.broker_name, want.queue_id), "{k}");
            assert!(s.queue_offset > last, "{k}: offsets rise in send order");
            last = s.queue_offset;
            assert_eq!(o.sharding_key.as_deref(), Some(k.as_str()));
            assert_eq!(o.attempts.len(), 1);
        }
        queues_used.insert((want.broker_name.clone(), want.queue_id));
    }
    assert!(queues_used.len() > 2, "the keys spread over queues: {queues_used:?}");
    let stats = c.stats();
    let sum = |f: fn(&mqtui::cluster::BrokerStats) -> u64| stats.iter().map(f).sum::<u64>();
    assert_eq!(sum(|s| s.ordered), 12 * 40, "every message carried __SHARDINGKEY");
    assert_eq!(sum(|s| s.ordered_keys), 12);
    assert_eq!((sum(|s| s.ordered_out_of_order), sum(|s| s.ordered_moved)), (0, 0), "{stats:?}");
    assert_eq!(p.counters().ok, 480);
}

#[tokio::test]
async fn an_ordered_send_to_a_down_broker_is_retried_there_and_fails_instead_of_moving() {
    for java in mqtui::producer::JavaVersion::ALL {
        let c = DemoCluster::start(ClusterConfig { brokers: 2, ..ClusterConfig::default() }).await.unwrap();
        let p = Producer::new(ProducerConfig {
            namesrvs: vec![c.namesrv_addr().to_string()],
            heartbeats: false,
            java,
            fault_table: java.fault_table(),
            ..ProducerConfig::default()
        });
        let route = p.lookup(TOPIC).await.unwrap();
        let on_b = (0..100)
            .map(|i| format!("key-{i}"))
            .find(|k| route.queues[hash_index(k, route.queues.len())].broker_name.as_ref() == "broker-b")
            .unwrap();
        let queue = route.queues[hash_index(&on_b, route.queues.len())].queue_id;
        c.update_fault("broker-b", |f| f.down = true).unwrap();
        wait_refused(&c, "broker-b").await;
        let o = p.send_ordered(msg("to b".into()), &on_b, false).await;
        assert!(!o.is_ok(), "{java}: {o:?}");
        let trail: Vec<&str> = o.attempts.iter().map(|a| &*a.broker).collect();
        assert_eq!(
            trail, ["broker-b"; 3],
            "{java}: retried on its own broker, as onExceptionImpl without publish info"
        );
        assert!(o.attempts.iter().all(|a| a.queue == queue), "{java}: and its own queue");
        // Broker-b is isolated now: an unordered send goes elsewhere, an ordered one does not.
        let free = p.send(msg("any".into())).await;
        assert_eq!(free.attempts[0].broker.as_ref(), "broker-a", "{java}: avoidance moves unordered sends");
        let again = p.send_ordered(msg("to b again".into()), &on_b, false).await;
        assert_eq!(&*again.attempts[0].broker, "broker-b", "{java}: the key's broker, isolated or not");
        assert!(!again.is_ok());
        // The key's other messages on broker-a are untouched.
        let on_a = (0..100)
            .map(|i| format!("key-{i}"))
            .find(|k| route.queues[hash_index(k, route.queues.len())].broker_name.as_ref() == "broker-a")
            .unwrap();
        assert!(p.send_ordered(msg("to a".into()), &on_a, false).await.is_ok(), "{java}");
    }
}

#[tokio::test]
async fn an_ordered_oneway_send_goes_to_the_keys_queue() {
    let c = DemoCluster::start(ClusterConfig { brokers: 2, ..ClusterConfig::default() }).await.unwrap();
    let p = producer(&c);
    let route = p.lookup(TOPIC).await.unwrap();
    for i in 0..10 {
        let k = format!("ow-{i}");
        let o = p.send_ordered(msg(k.clone()), &k, true).await;
        let want = &route.queues[hash_index(&k, route.queues.len())];
        assert_eq!(o.status_name(), "ONEWAY");
        assert_eq!((&*o.attempts[0].broker, o.attempts[0].queue), (&*want.broker_name, want.queue_id));
    }
}
