//! A client nobody here wrote against `mqtui cluster`: rocketmq-client-rust 1.0.0 (the crate in
//! tests/interop/rocketmq-client-rust, built by .ci/run) sends 10,000 messages sync and 10,000
//! async to `mqtui cluster --brokers 2`, with 0 failures and msgId, queue and queue offset on
//! every result. Set `MQTUI_INTEROP_CLIENT` to the built client; under `CI=true` it must be set.

mod common;

use std::process::{Command, Stdio};

use common::demo::{column_sum, start_cluster, start_cluster_with, stop_cluster};

const COUNT: usize = 10_000;

#[test]
fn rocketmq_client_rust_sends_to_mqtui_cluster() {
    let Some(client) = common::needs_env("MQTUI_INTEROP_CLIENT", "scripts/test builds the interop client") else {
        return;
    };
    let (mut cluster, mut out, namesrv) = start_cluster("mqtui-interop-logs");
    let result = Command::new(&client)
        .args([&namesrv, &COUNT.to_string(), "InteropTopic"])
        .stderr(Stdio::null())
        .output()
        .expect("run the interop client");
    let stdout = String::from_utf8_lossy(&result.stdout).to_string();
    println!("{stdout}");

    let rest = stop_cluster(&mut cluster, &mut out);
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
    assert_eq!(column_sum(&rest, 4), 2 * COUNT as u64, "{rest}");
    assert_eq!(column_sum(&rest, 6), 0, "duplicate UNIQ_KEYs: {rest}");
}

/// Another client nobody here wrote, in another language: ali-ons (JavaScript, npm), installed
/// by scripts/test into tests/interop/ali-ons. 5,000 sends 32 at a time and a 10 KB body.
/// Set `MQTUI_INTEROP_ALI_ONS` to that directory; under `CI=true` it must be set.
#[test]
fn ali_ons_sends_to_mqtui_cluster() {
    let Some(dir) = common::needs_env("MQTUI_INTEROP_ALI_ONS", "scripts/test installs ali-ons") else {
        return;
    };
    const N: u64 = 5_000;
    let (mut cluster, mut out, namesrv) = start_cluster("mqtui-interop-ali-ons-logs");
    let result = Command::new("node")
        .current_dir(&dir)
        .args(["send.js", &namesrv, &N.to_string(), "32"])
        .stderr(Stdio::inherit())
        .output()
        .expect("run node send.js");
    let stdout = String::from_utf8_lossy(&result.stdout).to_string();
    let rest = stop_cluster(&mut cluster, &mut out);
    assert!(result.status.success(), "ali-ons client failed: {stdout}");
    let line = stdout.lines().rfind(|l| l.starts_with('{')).unwrap_or_else(|| panic!("no summary in {stdout}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["ok"], N, "{line}");
    assert_eq!(v["failed"], 0, "{line}");
    assert_eq!(v["distinct_places"], N, "every (broker, queue, offset) distinct: {line}");
    assert_eq!(v["distinct_offset_ids"], N, "an offset message id on every result: {line}");
    assert_eq!(v["brokers"].as_object().unwrap().len(), 2, "both brokers used: {line}");
    assert_eq!(v["big"], "SEND_OK", "{line}");
    assert_eq!(column_sum(&rest, 4), N + 1, "stored: {rest}");

    // ACL: ali-ons signs as RocketMQ's ACL 1.0 does, in code nobody here wrote; `mqtui cluster
    // --acl` accepts its signature with the right secret and refuses it with a wrong one.
    let (mut cluster, mut out, namesrv) =
        start_cluster_with("mqtui-interop-ali-ons-logs", &["--acl", "interop:s3cret"]);
    let run = |secret: &str, n: u64| {
        let o = Command::new("node")
            .current_dir(&dir)
            .args(["send.js", &namesrv, &n.to_string(), "8"])
            .env("ALI_ONS_ACCESS_KEY", "interop")
            .env("ALI_ONS_SECRET_KEY", secret)
            .stderr(Stdio::null())
            .output()
            .expect("run node send.js");
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(o.status.success(), "{text}");
        let line = text.lines().rfind(|l| l.starts_with('{')).unwrap_or_else(|| panic!("no summary in {text}"));
        serde_json::from_str::<serde_json::Value>(line).unwrap()
    };
    let good = run("s3cret", 500);
    assert_eq!((good["ok"].as_u64(), good["failed"].as_u64()), (Some(500), Some(0)), "{good}");
    let bad = run("wrong", 5);
    assert_eq!((bad["ok"].as_u64(), bad["failed"].as_u64()), (Some(0), Some(5)), "{bad}");
    assert!(bad["errors"].to_string().contains("BrokersSent"), "{bad}");
    let rest = stop_cluster(&mut cluster, &mut out);
    assert_eq!(column_sum(&rest, 4), 500 + 1, "only the signed sends stored: {rest}");
}
