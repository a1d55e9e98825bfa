//! TLS on the remoting connections against the demo cluster serving TLS only: sends go through
//! with the cluster's certificate trusted, and the wrong setups fail with errors that say why.

use std::time::Duration;

use mqtui::cluster::{ClusterConfig, DemoCluster};
use mqtui::producer::{Producer, ProducerConfig};
use mqtui::protocol::message::Message;
use mqtui::remoting::tls::{TlsClient, TlsOptions, TlsServer};

async fn tls_cluster() -> (DemoCluster, TlsServer) {
    let server = TlsServer::self_signed(&[]).unwrap();
    let c = DemoCluster::start(ClusterConfig { brokers: 2, tls: Some(server.clone()), ..ClusterConfig::default() })
        .await
        .unwrap();
    (c, server)
}

fn producer(c: &DemoCluster, tls: Option<TlsClient>) -> Producer {
    Producer::new(ProducerConfig {
        namesrvs: vec![c.namesrv_addr().to_string()],
        tls,
        timeout: Duration::from_millis(2000),
        ..ProducerConfig::default()
    })
}

#[tokio::test]
async fn sends_over_tls_with_the_clusters_certificate_trusted() {
    let (c, server) = tls_cluster().await;
    let client =
        TlsClient::new(&TlsOptions { extra_roots: vec![server.cert_der.clone()], ..Default::default() }).unwrap();
    let p = producer(&c, Some(client));
    for i in 0..50 {
        let o = p.send(Message::new("TlsTopic", format!("tls {i}").into_bytes())).await;
        assert!(o.is_ok(), "{o:?}");
    }
    assert_eq!(c.stats().iter().map(|s| s.messages).sum::<u64>(), 50);
    assert!(c.stats().iter().all(|s| s.messages > 0), "both brokers, over TLS");
    // --tls-insecure: any certificate, as the Java client's default.
    let p = producer(&c, Some(TlsClient::new(&TlsOptions { insecure: true, ..Default::default() }).unwrap()));
    assert!(p.send(Message::new("TlsTopic", &b"insecure"[..])).await.is_ok());
}

#[tokio::test]
async fn a_plain_client_an_untrusted_certificate_and_tls_to_a_plain_server_say_why() {
    let (c, _server) = tls_cluster().await;
    // Plain to a TLS-only name server.
    let o = producer(&c, None).send(Message::new("TlsTopic", &b"plain"[..])).await;
    let e = &o.result.as_ref().unwrap_err().message;
    assert!(e.contains("TLS"), "a plain client is told the server may want TLS: {e}");
    // Trusting another certificate.
    let other = TlsServer::self_signed(&[]).unwrap();
    let client = TlsClient::new(&TlsOptions { extra_roots: vec![other.cert_der], ..Default::default() }).unwrap();
    let o = producer(&c, Some(client)).send(Message::new("TlsTopic", &b"untrusted"[..])).await;
    let e = &o.result.as_ref().unwrap_err().message;
    assert!(e.contains("not signed by --tls-ca") && e.contains(&c.namesrv_addr().to_string()), "{e}");
    // TLS to a plain cluster.
    let plain = DemoCluster::start(ClusterConfig { brokers: 1, ..ClusterConfig::default() }).await.unwrap();
    let client = TlsClient::new(&TlsOptions { insecure: true, ..Default::default() }).unwrap();
    let o = producer(&plain, Some(client)).send(Message::new("TlsTopic", &b"tls to plain"[..])).await;
    let e = &o.result.as_ref().unwrap_err().message;
    assert!(e.contains("TLS with") && e.contains(&plain.namesrv_addr().to_string()), "{e}");
}

/// `--chaos` on a TLS cluster: the producer reaches its in-process proxies plainly, the proxies
/// speak TLS to the brokers, and the faults still apply.
#[tokio::test]
async fn chaos_proxies_speak_tls_to_the_brokers() {
    use mqtui::chaos::Chaos;
    use mqtui::producer::AttemptOutcome;
    use mqtui::remoting::ResponseCode;
    use std::sync::Arc;

    let (c, server) = tls_cluster().await;
    let client =
        TlsClient::new(&TlsOptions { extra_roots: vec![server.cert_der.clone()], ..Default::default() }).unwrap();
    let chaos = Chaos::with_tls(Some(client.clone()));
    let p = Producer::new(ProducerConfig {
        namesrvs: vec![c.namesrv_addr().to_string()],
        tls: Some(client),
        addr_map: Some(Arc::new(chaos.clone())),
        fault_avoidance: false,
        ..ProducerConfig::default()
    });
    let route = p.lookup("TlsChaos").await.unwrap();
    chaos.cover(&route).await.unwrap();
    for _ in 0..20 {
        assert!(p.send(Message::new("TlsChaos", &b"through the proxy"[..])).await.is_ok());
    }
    assert_eq!(c.stats().iter().map(|s| s.messages).sum::<u64>(), 20, "stored behind the proxies, over TLS");
    chaos.update_fault("broker-a", |f| f.error_code = Some(ResponseCode::SYSTEM_BUSY.code())).unwrap();
    let mut busy = 0;
    for _ in 0..20 {
        let o = p.send(Message::new("TlsChaos", &b"busy"[..])).await;
        let a = &o.attempts[0];
        if &*a.broker == "broker-a" {
            assert_eq!((a.outcome, a.code), (AttemptOutcome::BrokerError, Some(ResponseCode::SYSTEM_BUSY.code())));
            busy += 1;
        }
    }
    assert!(busy > 0);
}

/// From the command line and the config file: `--demo --tls` serves and trusts its own
/// certificate; a CA file that is not there is a clear error (exit 2).
#[test]
fn tls_from_the_command_line_and_the_config_file() {
    let run = |args: &[&str], config: Option<&std::path::Path>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_mqtui"));
        c.args(args).env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs")).env_remove("MQTUI_NAMESRV");
        match config {
            Some(p) => c.env("MQTUI_CONFIG", p),
            None => c.env("XDG_CONFIG_HOME", std::env::temp_dir().join("mqtui-no-config")).env_remove("MQTUI_CONFIG"),
        };
        c.output().unwrap()
    };
    let o = run(&["produce", "--demo", "--tls", "--count", "20", "--output", "json"], None);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["ok"], 20);
    assert!(s["run"]["target"].as_str().unwrap().contains("TLS"), "{s}");
    let dir = std::env::temp_dir().join(format!("mqtui-tls-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), "tls-ca = \"/nonexistent/ca.pem\"\n").unwrap();
    let o = run(&["produce", "--namesrv", "127.0.0.1:1", "--count", "1"], Some(&dir.join("config.toml")));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
}
