//! `--chaos`: faults injected by proxies in front of a cluster's brokers, the cluster untouched.
//! The demo cluster plays the real one here; tests/tmux_e2e.rs drives it against rocketmq-rust.

use mqtui::cluster::{ClusterConfig, DemoCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_on_the_proxies_is_retried_around_and_the_cluster_is_untouched() {
    let c = DemoCluster::start(ClusterConfig { brokers: 2, ..Default::default() }).await.unwrap();
    let dir = std::env::temp_dir().join(format!("mqtui-chaos-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("b-down.toml");
    std::fs::write(
        &file,
        "[[step]]\nat = 1\nbroker = \"broker-b\"\ndown = true\n[[step]]\nat = 3\nbroker = \"broker-b\"\nclear = true\n",
    )
    .unwrap();
    let ns = c.namesrv_addr().to_string();
    let o = tokio::process::Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["produce", "--namesrv", &ns, "--chaos", "--scenario", file.to_str().unwrap()])
        .args(["--duration", "5", "--rate", "300", "--output", "jsonl"])
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .output()
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["failed"], 0);
    assert!(summary["retries"].as_u64().unwrap() > 0, "sends to the downed proxy were retried");
    assert!(summary["run"]["target"].as_str().unwrap().starts_with("CHAOS"), "{summary}");
    // Connections dropped by the downed proxy ("unknown") or refused by it ("send_failed").
    assert!(text.lines().any(|l| l.contains("\"type\":\"attempt\"")
        && l.contains("\"broker\":\"broker-b\"")
        && (l.contains("\"outcome\":\"send_failed\"") || l.contains("\"outcome\":\"unknown\""))));
    // The cluster itself never went down and stored every sent message. Going down drops the
    // proxy's connections, so a request it had already passed on can be stored while its reply
    // is lost; the retry then stores it again, as RocketMQ's at-least-once send does. Such a
    // repeat carries the same UNIQ_KEY, and only an attempt that ended without a reply after
    // its connection was open can make one: "unknown", a timeout, or "send_failed" from a
    // connection closed under a written request (RemotingSendRequestException, as Java's
    // failFast reports it), never a refused connect (RemotingConnectException).
    assert!(c.fault("broker-b").unwrap().is_healthy());
    let stats = c.stats();
    let stored: u64 = stats.iter().map(|s| s.messages).sum();
    let repeats: u64 = stats.iter().map(|s| s.duplicate_keys).sum();
    assert_eq!(stored - repeats, summary["ok"].as_u64().unwrap(), "{stats:?}");
    let reply_lost = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|a| a["type"] == "attempt")
        .filter(|a| matches!(a["outcome"].as_str(), Some("unknown" | "timeout" | "send_failed")))
        .filter(|a| a["java_error"] != "RemotingConnectException")
        .count() as u64;
    assert!(repeats <= reply_lost, "{repeats} repeats, {reply_lost} attempts with their reply lost");

    // A name-server step cannot run on broker proxies.
    std::fs::write(&file, "[[step]]\nat = 1\nnamesrv = true\nslow_ms = 5\n").unwrap();
    let o = tokio::process::Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["produce", "--namesrv", &ns, "--chaos", "--scenario", file.to_str().unwrap(), "--count", "5"])
        .output()
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("brokers only"));
    // --chaos needs a real cluster's name server.
    let o =
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mqtui")).args(["produce", "--chaos"]).output().await.unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// A broker that joins the route later (here: registers with the name server after the start)
/// gets a proxy of its own at the next route refresh, and its faults apply to it alone.
#[tokio::test]
async fn a_broker_joining_the_route_gets_a_proxy_too() {
    use mqtui::chaos::Chaos;
    use mqtui::producer::{AttemptOutcome, Producer, ProducerConfig};
    use mqtui::protocol::message::Message;
    use mqtui::remoting::ResponseCode;
    use std::sync::Arc;

    let c = DemoCluster::start(ClusterConfig { brokers: 3, ..Default::default() }).await.unwrap();
    c.update_namesrv_fault(|f| {
        f.unregistered.insert("broker-c".into());
    });
    let chaos = Chaos::new();
    let p = Producer::new(ProducerConfig {
        namesrvs: vec![c.namesrv_addr().to_string()],
        addr_map: Some(Arc::new(chaos.clone())),
        fault_avoidance: false,
        ..ProducerConfig::default()
    });
    let route = p.lookup("JoinTopic").await.unwrap();
    chaos.cover(&route).await.unwrap();
    assert_eq!(chaos.broker_names(), ["broker-a", "broker-b"]);

    c.update_namesrv_fault(|f| f.unregistered.clear());
    p.refresh_routes().await;
    assert_eq!(chaos.broker_names(), ["broker-a", "broker-b", "broker-c"]);
    assert_eq!(p.lookup("JoinTopic").await.unwrap().brokers.len(), 3);

    // Its proxy answers SYSTEM_BUSY; the broker behind it is untouched.
    chaos.update_fault("broker-c", |f| f.error_code = Some(ResponseCode::SYSTEM_BUSY.code())).unwrap();
    let mut busy = 0;
    for _ in 0..30 {
        let o = p.send(Message::new("JoinTopic", &b"join"[..])).await;
        let a = &o.attempts[0];
        if &*a.broker == "broker-c" {
            assert_eq!(a.outcome, AttemptOutcome::BrokerError);
            assert_eq!(a.code, Some(ResponseCode::SYSTEM_BUSY.code()));
            busy += 1;
        } else {
            assert!(o.is_ok());
        }
    }
    assert!(busy > 0, "broker-c was chosen");
    let stats = c.stats();
    let broker_c = stats.iter().find(|s| s.name == "broker-c").unwrap();
    assert_eq!((broker_c.messages, broker_c.faulted), (0, 0), "the proxy answered, not the broker");
}
