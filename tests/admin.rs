//! `mqtui route` and `mqtui topic create` against the demo cluster, as a user runs them.

use mqtui::cluster::{ClusterConfig, DemoCluster};

async fn mqtui(args: Vec<String>) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(args)
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .output()
        .await
        .unwrap()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_and_topic_create() {
    let c = DemoCluster::start(ClusterConfig { brokers: 2, ..ClusterConfig::default() }).await.unwrap();
    let ns = c.namesrv_addr().to_string();

    let o = mqtui(s(&["route", "--namesrv", &ns, "--topic", "Orders"])).await;
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("cluster DemoCluster"), "{text}");
    assert!(text.contains(&format!("broker-b         master {}", c.broker_addr("broker-b").unwrap())), "{text}");
    assert!(text.contains("8 writable queue(s)"), "{text}");
    assert!(text.contains("RW"), "{text}");

    let o = mqtui(s(&["route", "--namesrv", &ns, "--topic", "Orders", "--json"])).await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["route"]["queueDatas"].as_array().unwrap().len(), 2);

    c.update_namesrv_fault(|f| {
        f.missing_topics.insert("Gone".into());
    });
    let o = mqtui(s(&["route", "--namesrv", &ns, "--topic", "Gone"])).await;
    assert!(String::from_utf8_lossy(&o.stdout).contains("no route (TOPIC_NOT_EXIST (17)"));

    let o = mqtui(s(&["topic", "create", "--namesrv", &ns, "--topic", "Orders", "--queues", "8"])).await;
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.matches("created Orders: 8 queues, perm RW").count(), 2, "{text}");
    // Each broker got its request.
    assert!(c.stats().iter().all(|b| b.requests >= 1));

    let o = mqtui(s(&["topic", "create", "--namesrv", &ns, "--topic", "Orders", "--cluster", "Nope"])).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no cluster \"Nope\" (clusters: DemoCluster)"));

    // A broker that refuses: exit 1, and it says which.
    c.update_fault("broker-a", |f| f.down = true).unwrap();
    let o = mqtui(s(&["topic", "create", "--namesrv", &ns, "--topic", "Orders"])).await;
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("broker-a") && text.contains("send request failed"), "{text}");

    let o = mqtui(s(&["route", "--namesrv", "127.0.0.1:1"])).await;
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no name server reachable"));
}
