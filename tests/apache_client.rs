//! Apache RocketMQ's own Java client (5.3.x and 4.9.8, from Maven Central) against
//! `mqtui cluster --brokers 2`: 10,000 messages of each kind — sync, async, oneway, batch, ordered
//! through a MessageQueueSelector, a delay level, keys/tags/user properties, a compressed body —
//! with 0 failures and offset msgIds that decode; and Apache's mqadmin (clusterList, topicRoute,
//! topicStatus, updateTopic, sendMessage) answered as a Java cluster answers it.
//! scripts/test fetches the Java client (scripts/apache-rocketmq); without MQTUI_APACHE_NAMESRV
//! (set when it did) these say so and pass, except under CI=true.

mod common;

use common::apache;
use common::demo::{column_sum, start_cluster, stop_cluster};
use serde_json::Value;

const N: u64 = 10_000;
const KINDS: [&str; 8] = ["sync", "async", "oneway", "batch", "ordered", "delay", "props", "compressed"];

fn java_client_sends_every_kind(version: &str) {
    if apache::namesrv().is_none() {
        return;
    }
    let (mut cluster, mut out, ns) = start_cluster(&format!("mqtui-apache-client-{version}-logs"));
    let mut lines = Vec::new();
    for kind in KINDS {
        let topic = format!("Java{}{kind}", version.replace('.', ""));
        let o = apache::java(version, "JavaProducer.java", &[&ns, &topic, kind, &N.to_string()]);
        let got = apache::json_lines(&o);
        let v: Value = got.last().cloned().unwrap_or_else(|| {
            panic!(
                "{version} {kind}: no result line\n{}\n{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        });
        println!("{version} {v}");
        assert_eq!(v["kind"], kind);
        assert_eq!(v["failed"], 0, "{version} {kind}: {v}");
        assert_eq!(v["ok"], N, "{version} {kind}: {v}");
        assert_eq!(v["bad_ids"], 0, "{version} {kind}: offset msgIds decode to a broker and offset: {v}");
        if kind != "oneway" {
            assert_eq!(v["brokers"].as_object().unwrap().len(), 2, "{version} {kind}: both brokers: {v}");
        }
        if kind == "ordered" {
            assert_eq!(v["keys"], 16, "{v}");
            assert_eq!(v["key_moved"], 0, "{version}: a key always goes to its selected queue: {v}");
            assert_eq!(v["key_disorder"], 0, "{version}: a key's offsets rise in send order: {v}");
        }
        // The brokers hold them all, oneway ones included (mqadmin topicStatus: max offsets).
        let status = apache::mqadmin(&["topicStatus", "-n", &ns, "-t", &topic]);
        let stored: u64 = status
            .lines()
            .filter(|l| l.starts_with("broker-"))
            .map(|l| l.split_whitespace().nth(3).unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(stored, N, "{version} {kind}: topicStatus: {status}");
        lines.push(v);
    }
    let rest = stop_cluster(&mut cluster, &mut out);
    assert_eq!(column_sum(&rest, 4), N * KINDS.len() as u64, "{rest}");
    assert_eq!(column_sum(&rest, 6), 0, "duplicate UNIQ_KEYs: {rest}");
}

#[test]
fn java_client_5_3_sends_every_kind_to_mqtui_cluster() {
    java_client_sends_every_kind("5.3.3");
}

#[test]
fn java_client_4_9_8_sends_every_kind_to_mqtui_cluster() {
    java_client_sends_every_kind("4.9.8");
}

/// mqadmin against mqtui's name server and brokers, as against a Java cluster.
#[test]
fn mqadmin_works_against_mqtui_cluster() {
    if apache::namesrv().is_none() {
        return;
    }
    let (mut cluster, mut out, ns) = start_cluster("mqtui-apache-mqadmin-logs");
    let list = apache::mqadmin(&["clusterList", "-n", &ns]);
    let rows: Vec<Vec<&str>> =
        list.lines().skip(1).map(|l| l.split_whitespace().collect::<Vec<_>>()).filter(|f| f.len() > 5).collect();
    assert_eq!(rows.len(), 2, "{list}");
    for (row, name) in rows.iter().zip(["broker-a", "broker-b"]) {
        assert_eq!((row[0], row[1], row[2]), ("DemoCluster", name, "0"), "{list}");
        assert_eq!(row[4], "V5_3_3", "{list}");
        assert_eq!(*row.last().unwrap(), "true", "activated: {list}");
    }
    assert!(!list.contains("Exception"), "{list}");

    let out1 =
        apache::mqadmin(&["updateTopic", "-n", &ns, "-c", "DemoCluster", "-t", "AdminTopic", "-r", "4", "-w", "4"]);
    assert_eq!(out1.matches("success").count(), 2, "created on both brokers: {out1}");

    let route = apache::fastjson_to_json(&apache::mqadmin(&["topicRoute", "-n", &ns, "-t", "AdminTopic"]));
    let mut names: Vec<&str> =
        route["brokerDatas"].as_array().unwrap().iter().map(|b| b["brokerName"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["broker-a", "broker-b"], "{route}");
    for q in route["queueDatas"].as_array().unwrap() {
        assert_eq!((q["writeQueueNums"].as_i64(), q["perm"].as_i64()), (Some(4), Some(6)), "{route}");
    }

    let sent = apache::mqadmin(&[
        "sendMessage",
        "-n",
        &ns,
        "-t",
        "AdminTopic",
        "-p",
        "hello from mqadmin",
        "-k",
        "k1",
        "-c",
        "TagA",
    ]);
    assert!(sent.contains("SEND_OK"), "{sent}");
    let status = apache::mqadmin(&["topicStatus", "-n", &ns, "-t", "AdminTopic"]);
    let stored: u64 = status
        .lines()
        .filter(|l| l.starts_with("broker-"))
        .map(|l| l.split_whitespace().nth(3).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(stored, 1, "{status}");
    let rest = stop_cluster(&mut cluster, &mut out);
    assert_eq!(column_sum(&rest, 4), 1, "{rest}");
}

/// Apache's TransactionMQProducer against `mqtui cluster`: half messages kept apart, commits
/// stored, rollbacks dropped, and the demo brokers' check-backs reach the Java client, which
/// answers commit.
#[test]
fn java_transaction_producer_against_mqtui_cluster() {
    if apache::namesrv().is_none() {
        return;
    }
    let (mut cluster, mut out, ns) = start_cluster("mqtui-apache-client-tx-logs");
    for version in ["5.3.3", "4.9.8"] {
        let topic = format!("JavaTx{}", version.replace('.', ""));
        let o = apache::java(version, "JavaTransaction.java", &[&ns, &topic, "300"]);
        let v = apache::json_lines(&o).pop().unwrap_or_else(|| {
            panic!(
                "{version}: no result line\n{}\n{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        });
        println!("{version} {v}");
        assert_eq!((&v["ok"], &v["failed"]), (&300.into(), &0.into()), "{version}: {v}");
        assert_eq!(v["unknown_not_checked"], 0, "{version}: every unknown one checked back: {v}");
        // Stored on the topic: the 100 committed and the 100 committed at the check-back.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let stored = loop {
            let status = apache::mqadmin(&["topicStatus", "-n", &ns, "-t", &topic]);
            let stored: u64 = status
                .lines()
                .filter(|l| l.starts_with("broker-"))
                .map(|l| l.split_whitespace().nth(3).unwrap().parse::<u64>().unwrap())
                .sum();
            if stored >= 200 || std::time::Instant::now() > until {
                break stored;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        assert_eq!(stored, 200, "{version}: committed ones only");
    }
    let rest = stop_cluster(&mut cluster, &mut out);
    assert!(rest.contains("600 half messages"), "{rest}");
}
