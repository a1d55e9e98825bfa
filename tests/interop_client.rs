//! A client nobody here wrote against `mqtui cluster`: rocketmq-client-rust 1.0.0 (the crate in
//! tests/interop/rocketmq-client-rust, built by .ci/run) sends 10,000 messages sync and 10,000
//! async to `mqtui cluster --brokers 2`, with 0 failures and msgId, queue and queue offset on
//! every result. Set `MQTUI_INTEROP_CLIENT` to the built client; under `CI=true` it must be set.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

const COUNT: usize = 10_000;

#[test]
fn rocketmq_client_rust_sends_to_mqtui_cluster() {
    let Ok(client) = std::env::var("MQTUI_INTEROP_CLIENT") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must build the interop client (.ci/run) and set MQTUI_INTEROP_CLIENT"
        );
        eprintln!("MQTUI_INTEROP_CLIENT not set: skipping (.ci/run builds the client and runs this)");
        return;
    };
    let mut cluster = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["cluster", "--brokers", "2", "--port", "0"])
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-interop-logs"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mqtui cluster");
    let mut out = BufReader::new(cluster.stdout.take().unwrap());
    let mut namesrv = None;
    let mut brokers = 0;
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        if let Some(addr) = line.trim().strip_prefix("name server: ") {
            namesrv = Some(addr.to_string());
        }
        if line.starts_with("broker ") {
            brokers += 1;
        }
        if line.starts_with("Ctrl-C") {
            break;
        }
        line.clear();
    }
    let namesrv = namesrv.expect("mqtui cluster prints the name server address");
    assert_eq!(brokers, 2);

    let result = Command::new(&client)
        .args([&namesrv, &COUNT.to_string(), "InteropTopic"])
        .stderr(Stdio::null())
        .output()
        .expect("run the interop client");
    let stdout = String::from_utf8_lossy(&result.stdout).to_string();
    println!("{stdout}");

    // SIGTERM: the cluster stops and prints what each broker stored.
    Command::new("kill").arg(cluster.id().to_string()).status().unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = cluster.wait().unwrap();
    println!("{rest}");
    assert!(status.success(), "mqtui cluster exits cleanly on SIGTERM");

    assert!(result.status.success(), "interop client failed: {stdout}");
    for mode in ["sync", "async"] {
        let line = stdout
            .lines()
            .find(|l| l.contains(&format!("\"mode\":\"{mode}\"")))
            .unwrap_or_else(|| panic!("no {mode} line in {stdout}"));
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["ok"], COUNT, "{mode}: {line}");
        assert_eq!(v["failed"], 0, "{mode}: {line}");
        assert_eq!(v["missing_fields"], 0, "{mode}: msgId, queue and offset on every result");
        assert_eq!(v["distinct_queue_offsets"], COUNT, "{mode}: every (broker, queue, offset) distinct");
        assert_eq!(v["brokers"].as_array().unwrap().len(), 2, "{mode}: both brokers used");
    }
    // The brokers stored exactly what the client sent, once each.
    let stored: u64 = rest
        .lines()
        .filter(|l| l.starts_with("broker-"))
        .map(|l| l.split_whitespace().nth(4).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(stored, 2 * COUNT as u64, "{rest}");
    let dups: u64 = rest
        .lines()
        .filter(|l| l.starts_with("broker-"))
        .map(|l| l.split_whitespace().nth(6).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(dups, 0);
}
