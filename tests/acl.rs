//! ACL 1.0: requests signed as RocketMQ's AclClientRPCHook does, checked by the demo cluster;
//! secrets never shown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use futures::future::join_all;
use mqtui::cluster::{ClusterConfig, DemoCluster};
use mqtui::producer::{AttemptOutcome, FailureKind, Producer, ProducerConfig};
use mqtui::protocol::message::Message;
use mqtui::remoting::{AclCredentials, ResponseCode};

const SECRET: &str = "s3cr3t-Value-9f2";

async fn sends(c: &DemoCluster, acl: Option<AclCredentials>) -> Vec<std::sync::Arc<mqtui::producer::SendOutcome>> {
    let p = Producer::new(ProducerConfig { namesrvs: vec![c.namesrv_addr().to_string()], acl, ..Default::default() });
    join_all((0..20).map(|_| p.send(Message::new("AclTopic", &b"signed"[..])))).await
}

#[tokio::test]
async fn signed_requests_pass_and_others_get_no_permission() {
    let c = DemoCluster::start(ClusterConfig { acl: Some(AclCredentials::new("ak", SECRET)), ..Default::default() })
        .await
        .unwrap();
    let ok = sends(&c, Some(AclCredentials::new("ak", SECRET))).await;
    assert!(ok.iter().all(|o| o.is_ok()), "the right credentials");
    assert_eq!(c.stats().iter().map(|s| s.messages).sum::<u64>(), 20);

    for acl in [Some(AclCredentials::new("ak", "wrong")), Some(AclCredentials::new("other", SECRET)), None] {
        let bad = sends(&c, acl.clone()).await;
        for o in &bad {
            let f = o.result.as_ref().unwrap_err();
            assert_eq!((f.kind, f.code), (FailureKind::Broker, Some(ResponseCode::NO_PERMISSION.code())), "{acl:?}");
            assert_eq!(o.attempts.len(), 1, "a broker error is not retried");
            assert_eq!(o.attempts[0].outcome, AttemptOutcome::BrokerError);
            assert!(f.message.contains("[ACL]"), "{}", f.message);
        }
    }
    assert_eq!(c.stats().iter().map(|s| s.messages).sum::<u64>(), 20, "nothing unsigned was stored");
}

#[test]
fn the_cli_signs_and_never_shows_the_secret() {
    let logs = std::env::temp_dir().join(format!("mqtui-acl-logs-{}", std::process::id()));
    let mut cluster = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["cluster", "--brokers", "2", "--port", "0", "--acl", &format!("ak:{SECRET}")])
        .env("MQTUI_LOG_DIR", &logs)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(cluster.stdout.take().unwrap());
    let mut ns = String::new();
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        if let Some(a) = line.trim().strip_prefix("name server: ") {
            ns = a.to_string();
        }
        if line.starts_with("Ctrl-C") {
            break;
        }
        assert!(!line.contains(SECRET), "{line}");
        line.clear();
    }
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mqtui"))
            .args(["produce", "--namesrv", &ns, "--count", "40", "--output", "jsonl", "--log-level", "trace"])
            .args(extra)
            .env("MQTUI_LOG_DIR", &logs)
            .output()
            .unwrap()
    };
    // topic create signs its requests too.
    let create = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mqtui"))
            .args(["topic", "create", "--namesrv", &ns, "--topic", "AclCreated"])
            .args(extra)
            .env("MQTUI_LOG_DIR", &logs)
            .output()
            .unwrap()
    };
    let signed = create(&["--access-key", "ak", "--secret-key", SECRET]);
    assert_eq!(signed.status.code(), Some(0), "{}", String::from_utf8_lossy(&signed.stdout));
    let unsigned = create(&[]);
    assert_eq!(unsigned.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unsigned.stdout).contains("NO_PERMISSION"));

    let o = run(&["--access-key", "ak", "--secret-key", SECRET]);
    let _ = Command::new("kill").arg(cluster.id().to_string()).status();
    let _ = cluster.wait();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("\"ok\":40"));
    assert!(!text.contains(SECRET) && !String::from_utf8_lossy(&o.stderr).contains(SECRET));
    let log = std::fs::read_to_string(logs.join("mqtui.log")).unwrap_or_default();
    assert!(!log.is_empty(), "trace logging wrote something");
    assert!(!log.contains(SECRET), "the secret is not in the log");

    let o = run(&["--secret-key", SECRET]);
    assert_eq!(o.status.code(), Some(2), "a secret without an access key is a bad flag");
}
