//! Oneway sends (`sendOneway`) against the demo cluster: written with the oneway flag, never
//! answered, one attempt, and what each Java version makes of a broker it cannot reach.

use std::process::Command;

use futures::future::join_all;
use mqtui::cluster::{ClusterConfig, DemoCluster};
use mqtui::producer::{AttemptOutcome, FailureKind, JavaError, JavaVersion, Producer, ProducerConfig};
use mqtui::protocol::message::Message;

fn msg() -> Message {
    Message::new("OnewayTopic", &b"oneway body"[..])
}

#[tokio::test]
async fn a_oneway_send_is_written_stored_and_never_answered() {
    let c = DemoCluster::start(ClusterConfig { brokers: 2, ..ClusterConfig::default() }).await.unwrap();
    let p = Producer::new(ProducerConfig {
        namesrvs: vec![c.namesrv_addr().to_string()],
        heartbeats: false,
        ..ProducerConfig::default()
    });
    let outcomes = join_all((0..20).map(|_| p.send_oneway(msg()))).await;
    for o in &outcomes {
        assert_eq!(o.status_name(), "ONEWAY");
        assert!(o.oneway && o.is_ok());
        assert_eq!(o.attempts.len(), 1);
        assert_eq!(o.attempts[0].outcome, AttemptOutcome::Written);
    }
    let n = p.counters();
    assert_eq!((n.sent, n.oneway, n.ok, n.failed, n.in_flight), (20, 20, 0, 0, 0), "counted apart");
    // The brokers store them (a moment later: nothing tells the producer when).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while c.stats().iter().map(|s| s.messages).sum::<u64>() < 20 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(c.stats().iter().map(|s| s.messages).sum::<u64>(), 20);
    assert!(c.stats().iter().all(|s| s.messages > 0), "spread over both brokers");
}

#[tokio::test]
async fn a_broker_down_fails_a_oneway_send_in_4_9_8_and_5_1_4_and_loses_it_silently_in_5_3() {
    for java in JavaVersion::ALL {
        let c = DemoCluster::start(ClusterConfig { brokers: 2, ..ClusterConfig::default() }).await.unwrap();
        c.update_fault("broker-b", |f| f.down = true).unwrap();
        // The listener stops a moment later: wait until broker-b refuses connections.
        let addr = c.broker_addr("broker-b").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while tokio::net::TcpStream::connect(addr).await.is_ok() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let p = Producer::new(ProducerConfig {
            namesrvs: vec![c.namesrv_addr().to_string()],
            java,
            fault_table: java.fault_table(),
            fault_avoidance: false,
            heartbeats: false,
            ..ProducerConfig::default()
        });
        let outcomes = join_all((0..8).map(|_| p.send_oneway(msg()))).await;
        let on_b: Vec<_> = outcomes.iter().filter(|o| &*o.attempts[0].broker == "broker-b").collect();
        assert!(!on_b.is_empty(), "{java}: the round robin reaches broker-b");
        for o in on_b {
            assert_eq!(o.attempts.len(), 1, "{java}: no retry");
            let a = &o.attempts[0];
            assert_eq!((a.outcome, a.java_error), (AttemptOutcome::SendFailed, Some(JavaError::Connect)), "{java}");
            if java == JavaVersion::V5_3_3 {
                assert_eq!(o.status_name(), "ONEWAY", "5.3: sendOneway returned; the listener only logs");
                assert!(a.error.as_deref().unwrap().contains("the message is lost"), "{:?}", a.error);
            } else {
                let f = o.result.as_ref().unwrap_err();
                assert_eq!(f.kind, FailureKind::SendFailed);
                assert!(f.message.starts_with("Send [1] times, still failed, cost ["), "{}", f.message);
                assert!(f.message.contains("BrokersSent: [broker-b]"), "{}", f.message);
            }
        }
    }
}

#[test]
fn produce_oneway_counts_them_apart_and_exits_0() {
    let o = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["produce", "--demo", "--oneway", "--count", "200", "--output", "jsonl"])
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .env_remove("MQTUI_NAMESRV")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let summary = lines.last().unwrap();
    assert_eq!(
        (&summary["sent"], &summary["oneway"], &summary["ok"], &summary["failed"]),
        (&200.into(), &200.into(), &0.into(), &0.into())
    );
    assert_eq!(summary["statuses"]["ONEWAY"], 200);
    for r in lines.iter().filter(|l| l["type"] == "result") {
        assert_eq!(r["status"], "ONEWAY");
        assert!(r["offset_msg_id"].is_null() && r["queue_offset"].is_null(), "nothing came back: {r}");
        assert!(r["broker"].is_string(), "where it was written: {r}");
    }
    let t = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["produce", "--demo", "--oneway", "--count", "10"])
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .env_remove("MQTUI_NAMESRV")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&t.stdout);
    assert!(text.contains("oneway 10  written, no reply awaited: nothing is known"), "{text}");
    let bad = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["produce", "--demo", "--oneway", "--batch", "4"])
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "Java has no oneway batch");
}
