//! TLS against Apache RocketMQ: a Java name server and broker with TLS enforced
//! (`tls.server.mode=enforcing`, a certificate `openssl req -x509` made) take `mqtui produce
//! --tls-ca` and refuse a plain mqtui with a clear error; and `mqtui cluster --tls` serves the
//! Java client with TLS (`tls.enable=true`). Its own Java cluster (one broker), started and
//! stopped here; without MQTUI_APACHE_NAMESRV (Apache RocketMQ fetched) it says so and passes,
//! except under CI=true.

mod common;

use std::process::Command;

use common::apache;
use common::demo::{start_cluster_with, stop_cluster};
use serde_json::Value;

const NS_PORT: &str = "19996";

struct TlsCluster {
    run: String,
}

impl TlsCluster {
    fn env(&self) -> [(&str, &str); 2] {
        [("MQTUI_APACHE_TLS", "1"), ("MQTUI_APACHE_RUN", self.run.as_str())]
    }
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        let _ = apache::run_env("5.3.3", &["stop"], &self.env());
    }
}

fn mqtui(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(args)
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .env_remove("MQTUI_NAMESRV")
        .output()
        .unwrap()
}

#[test]
fn apache_rocketmq_with_tls_enforced_and_mqtui_cluster_tls_for_the_java_client() {
    if apache::namesrv().is_none() {
        return;
    }
    let cluster = TlsCluster {
        run: std::env::temp_dir().join(format!("mqtui-apache-tls-{}", std::process::id())).display().to_string(),
    };
    let o = apache::run_env("5.3.3", &["start", "1", NS_PORT, "20811"], &cluster.env());
    assert!(o.status.success(), "the TLS cluster starts: {}", String::from_utf8_lossy(&o.stderr));
    let ns = format!("127.0.0.1:{NS_PORT}");
    let ca = format!("{}/tls/cert.pem", cluster.run);

    // TLS, trusting the broker's self-signed certificate.
    let o = mqtui(&["topic", "create", "--namesrv", &ns, "--topic", "MqtuiTls", "--tls-ca", &ca]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = mqtui(&[
        "produce",
        "--namesrv",
        &ns,
        "--topic",
        "MqtuiTls",
        "--tls-ca",
        &ca,
        "--count",
        "500",
        "--body",
        "tls {{seq}}",
        "--output",
        "jsonl",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    let summary: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!((&summary["ok"], &summary["failed"]), (&500.into(), &0.into()), "{summary}");
    // Read back by the Java consumer, itself over TLS.
    let rb = apache::run_env(
        "5.3.3",
        &["java", apache::interop_dir().join("ReadBack.java").to_str().unwrap(), &ns, "MqtuiTls"],
        &cluster.env(),
    );
    let lines = apache::json_lines(&rb);
    assert_eq!(
        lines.last().map(|l| &l["messages"]),
        Some(&Value::from(500)),
        "{}",
        String::from_utf8_lossy(&rb.stderr)
    );

    // Plain: refused, and said so.
    let o = mqtui(&["produce", "--namesrv", &ns, "--topic", "MqtuiTls", "--count", "5"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("closed by peer before any reply") && err.contains("--tls"), "{err}");
    // Trusting another certificate: refused, and said so.
    let other = std::env::temp_dir().join(format!("mqtui-tls-other-{}.pem", std::process::id()));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other", "-keyout"])
        .arg(other.with_extension("key"))
        .arg("-out")
        .arg(&other)
        .output()
        .unwrap();
    assert!(made.status.success());
    let o = mqtui(&[
        "produce",
        "--namesrv",
        &ns,
        "--topic",
        "MqtuiTls",
        "--count",
        "5",
        "--tls-ca",
        other.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains(&format!("TLS with {ns} failed")) && err.contains("not signed by --tls-ca"), "{err}");
    drop(cluster);

    // mqtui cluster --tls serves the Java client (tls.enable=true) over TLS.
    let cert = std::env::temp_dir().join(format!("mqtui-cluster-tls-{}.pem", std::process::id()));
    let (mut demo, mut out, demo_ns) =
        start_cluster_with("mqtui-apache-tls-logs", &["--tls", "--tls-cert-out", cert.to_str().unwrap()]);
    let java_env = [("MQTUI_APACHE_TLS", "1")];
    for version in ["5.3.3", "4.9.8"] {
        let o = apache::run_env(
            version,
            &[
                "java",
                apache::interop_dir().join("JavaProducer.java").to_str().unwrap(),
                &demo_ns,
                "JavaTls",
                "sync",
                "1000",
            ],
            &java_env,
        );
        let v =
            apache::json_lines(&o).pop().unwrap_or_else(|| panic!("{version}: {}", String::from_utf8_lossy(&o.stderr)));
        assert_eq!((&v["ok"], &v["failed"]), (&1000.into(), &0.into()), "{version}: {v}");
    }
    // mqtui itself, trusting the certificate the cluster wrote.
    let o = mqtui(&[
        "produce",
        "--namesrv",
        &demo_ns,
        "--topic",
        "MqtuiTls",
        "--tls-ca",
        cert.to_str().unwrap(),
        "--count",
        "100",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let rest = stop_cluster(&mut demo, &mut out);
    assert!(rest.contains("broker-a"), "{rest}");
}
