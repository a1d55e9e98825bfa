//! The messages an operator gives mqtui (`--input` lines, `--body-file`, placeholders, `--prop`,
//! `--delay-level`, `--delay-ms`) read back from Apache RocketMQ 5.3.x by the Java consumer, byte
//! for byte and property by property, and delivered no earlier than asked. Without
//! MQTUI_APACHE_NAMESRV these say so and pass, except under CI=true.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{apache, create_topic};
use serde_json::Value;

fn topic(name: &str) -> String {
    format!("MqtuiContent{name}{}", std::process::id())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Runs `mqtui produce --output jsonl` and returns its result lines (every one SEND_OK).
fn produce(args: &[&str]) -> Vec<Value> {
    let o = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .arg("produce")
        .args(args)
        .args(["--output", "jsonl"])
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&o.stderr),
        out.lines().last().unwrap_or("")
    );
    let results: Vec<Value> =
        out.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).filter(|v| v["type"] == "result").collect();
    assert!(results.iter().all(|r| r["status"] == "SEND_OK"), "{out}");
    results
}

/// Every message of `topic` now, read by the Java consumer.
fn read_back(ns: &str, topic: &str) -> Vec<Value> {
    let o = apache::java("5.3.3", "ReadBack.java", &[ns, topic]);
    let mut lines = apache::json_lines(&o);
    let done =
        lines.pop().unwrap_or_else(|| panic!("ReadBack printed nothing: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(done["done"], true, "{}", String::from_utf8_lossy(&o.stderr));
    lines
}

fn body_of(m: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(m["body_base64"].as_str().unwrap()).unwrap()
}

#[test]
fn input_lines_body_files_and_placeholders_read_back_as_given() {
    let Some(ns) = apache::namesrv() else { return };
    let t = topic("Input");
    create_topic(&ns, &t);
    let dir = std::env::temp_dir().join(format!("mqtui-apache-content-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A binary body past the compression threshold (zlib on the wire): the command line's body.
    let file_body: Vec<u8> = (0..6000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(dir.join("body.bin"), &file_body).unwrap();
    let small_binary: Vec<u8> = vec![0, 1, 2, 0xfe, 0xff, b'\n', b'"'];
    let lines = [
        r#"{"tag":"created","keys":["o-{{seq}}","eu"],"props":{"line":"1","seq":"{{seq}}","note":"ünï cødé"},"body":"order {{seq}} ✓"}"#.to_string(),
        format!(r#"{{"tag":"bin","props":{{"line":"2","seq":"{{{{seq}}}}"}},"body_base64":"{}"}}"#, b64(&small_binary)),
        r#"{"keys":"a b","props":{"line":"3","seq":"{{seq}}","n":42,"flag":true}}"#.to_string(),
    ];
    std::fs::write(dir.join("in.jsonl"), lines.join("\n") + "\n").unwrap();
    let count = 300;
    let results = produce(&[
        "--namesrv",
        &ns,
        "--topic",
        &t,
        "--input",
        dir.join("in.jsonl").to_str().unwrap(),
        "--body-file",
        dir.join("body.bin").to_str().unwrap(),
        "--tag",
        "cli",
        "--prop",
        "from=cli",
        "--prop",
        "line=cli",
        "--count",
        &count.to_string(),
    ]);
    assert_eq!(results.len(), count);
    let reported: HashMap<&str, &Value> = results.iter().map(|r| (r["offset_msg_id"].as_str().unwrap(), r)).collect();
    let got = read_back(&ns, &t);
    assert_eq!(got.len(), count, "every message stored once");
    let mut seqs = std::collections::BTreeSet::new();
    for m in &got {
        let r = reported.get(m["offset_msg_id"].as_str().unwrap()).unwrap_or_else(|| panic!("not reported: {m}"));
        assert_eq!(m["properties"]["UNIQ_KEY"], r["msg_id"], "{m}");
        let p = &m["properties"];
        let seq: u64 = p["seq"].as_str().unwrap().parse().unwrap();
        assert!(seqs.insert(seq), "seq {seq} twice");
        let line = p["line"].as_str().unwrap();
        assert_eq!(line, ((seq - 1) % 3 + 1).to_string(), "message {seq} is line {}", (seq - 1) % 3 + 1);
        assert_eq!(p["from"], "cli", "the command line's properties are on every message: {m}");
        match line {
            "1" => {
                assert_eq!(body_of(m), format!("order {seq} ✓").as_bytes());
                assert_eq!(m["tags"], "created");
                assert_eq!(m["keys"], format!("o-{seq} eu"));
                assert_eq!(p["note"], "ünï cødé");
            }
            "2" => {
                assert_eq!(body_of(m), small_binary, "{m}");
                assert_eq!(m["tags"], "bin");
                assert!(m["keys"].is_null(), "{m}");
            }
            _ => {
                assert!(body_of(m) == file_body, "line 3 takes --body-file's bytes");
                assert_eq!(m["tags"], "cli");
                assert_eq!(m["keys"], "a b");
                assert_eq!((&p["n"], &p["flag"]), (&Value::from("42"), &Value::from("true")));
            }
        }
    }
    assert_eq!(seqs, (1..=count as u64).collect(), "messages 1..={count}, each once");
}

/// Polls the topic until `n` messages are there (at most `within`).
fn wait_for(ns: &str, topic: &str, n: usize, within: Duration) -> Vec<Value> {
    let until = Instant::now() + within;
    loop {
        let got = read_back(ns, topic);
        if got.len() >= n || Instant::now() > until {
            return got;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_delay_level_and_a_timer_deliver_no_earlier_than_asked() {
    let Some(ns) = apache::namesrv() else { return };
    // Level 2 is 5 s (messageDelayLevel "1s 5s 10s …").
    let t = topic("DelayLevel");
    create_topic(&ns, &t);
    let sent_at = chrono::Utc::now().timestamp_millis();
    let results = produce(&["--namesrv", &ns, "--topic", &t, "--delay-level", "2", "--count", "20"]);
    assert_eq!(results.len(), 20);
    let got = wait_for(&ns, &t, 20, Duration::from_secs(40));
    assert_eq!(got.len(), 20, "all delivered within 40 s");
    for m in &got {
        let (born, stored) = (m["born_ms"].as_i64().unwrap(), m["store_ms"].as_i64().unwrap());
        assert!(born >= sent_at - 1000, "{m}");
        assert!(stored - born >= 5000, "delivered {} ms after it was born: {m}", stored - born);
        assert_eq!(m["properties"]["REAL_TOPIC"], t.as_str(), "came through the schedule topic: {m}");
    }

    // The 5.x timer: TIMER_DELAY_MS.
    let t = topic("Timer");
    create_topic(&ns, &t);
    let results = produce(&["--namesrv", &ns, "--topic", &t, "--delay-ms", "3000", "--count", "20"]);
    assert_eq!(results.len(), 20);
    let got = wait_for(&ns, &t, 20, Duration::from_secs(40));
    assert_eq!(got.len(), 20, "all delivered within 40 s");
    for m in &got {
        let (born, stored) = (m["born_ms"].as_i64().unwrap(), m["store_ms"].as_i64().unwrap());
        let due: i64 = m["properties"]["TIMER_OUT_MS"].as_str().map_or(born + 3000, |s| s.parse().unwrap());
        assert!(stored >= due, "delivered at {stored}, due at {due}: {m}");
        assert!(due - born >= 3000 - 1000, "the timer's slot is at most its precision (1 s) early: {m}");
    }
}

#[test]
fn oneway_messages_are_stored() {
    let Some(ns) = apache::namesrv() else { return };
    let t = topic("Oneway");
    create_topic(&ns, &t);
    let o = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["produce", "--namesrv", &ns, "--topic", &t, "--oneway", "--count", "500", "--output", "jsonl"])
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let sent: std::collections::BTreeSet<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "result")
        .inspect(|v| assert_eq!(v["status"], "ONEWAY", "{v}"))
        .map(|v| v["msg_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sent.len(), 500);
    // Nothing tells the producer when they are stored: wait for them.
    let got = wait_for(&ns, &t, 500, Duration::from_secs(20));
    let stored: std::collections::BTreeSet<String> =
        got.iter().map(|m| m["properties"]["UNIQ_KEY"].as_str().unwrap().to_string()).collect();
    assert_eq!(stored, sent, "every oneway message stored once, with the msgId mqtui reported");
    assert_eq!(got.len(), 500);
}

#[test]
fn a_namespaced_topic_is_stored_under_its_wrapped_name() {
    let Some(ns) = apache::namesrv() else { return };
    let bare = topic("Ns");
    let wrapped = format!("mqtuins%{bare}");
    create_topic(&ns, &wrapped);
    let results = produce(&["--namesrv", &ns, "--namespace", "mqtuins", "--topic", &bare, "--count", "50"]);
    assert_eq!(results.len(), 50);
    assert!(results.iter().all(|r| r["topic"] == bare.as_str()), "shown without the namespace");
    let got = read_back(&ns, &wrapped);
    assert_eq!(got.len(), 50, "stored under {wrapped}");
    let ids: std::collections::BTreeSet<&str> = results.iter().map(|r| r["msg_id"].as_str().unwrap()).collect();
    assert!(got.iter().all(|m| ids.contains(m["properties"]["UNIQ_KEY"].as_str().unwrap())));
}

#[test]
fn zstd_and_lz4_bodies_are_decompressed_by_the_java_consumer() {
    let Some(ns) = apache::namesrv() else { return };
    let body: Vec<u8> = (0..8192).map(|i| b'a' + (i % 26) as u8).collect();
    for (kind, bits) in [("zstd", 0x200), ("lz4", 0x100), ("zlib", 0x300)] {
        let t = topic(&format!("Compress{kind}"));
        create_topic(&ns, &t);
        let results =
            produce(&["--namesrv", &ns, "--topic", &t, "--compress", kind, "--size", "8192", "--count", "100"]);
        assert_eq!(results.len(), 100);
        let got = read_back(&ns, &t);
        assert_eq!(got.len(), 100, "{kind}");
        for m in &got {
            // The consumer clears COMPRESSED_FLAG once it has decompressed; the type bits stay.
            let flag = m["sys_flag"].as_i64().unwrap();
            assert_eq!(flag & 0x700, bits, "{kind}: stored with its type bits: {}", m["sys_flag"]);
            let size = m["store_size"].as_i64().unwrap();
            assert!(size < 2000, "{kind}: {size} bytes in the commit log for an 8192-byte body: compressed");
            assert!(body_of(m) == body, "{kind}: the Java consumer's decompressed body is the body sent");
        }
    }
}

#[test]
fn ordered_messages_go_to_the_queue_javas_selector_picks_in_send_order() {
    let Some(ns) = apache::namesrv() else { return };
    let t = topic("Ordered");
    create_topic(&ns, &t);
    let results = produce(&[
        "--namesrv",
        &ns,
        "--topic",
        &t,
        "--sharding-key",
        "order-{{rand:8}}",
        "--body",
        "{{seq}}",
        "--count",
        "400",
    ]);
    assert_eq!(results.len(), 400);
    let got = read_back(&ns, &t);
    assert_eq!(got.len(), 400);
    // Per key: one queue, and the bodies (the send numbers) in queue-offset order.
    let mut by_key: std::collections::BTreeMap<String, Vec<&Value>> = Default::default();
    for m in &got {
        let key = m["properties"]["__SHARDINGKEY"].as_str().unwrap_or_else(|| panic!("no __SHARDINGKEY: {m}"));
        by_key.entry(key.to_string()).or_default().push(m);
    }
    let keys: Vec<&str> = by_key.keys().map(String::as_str).collect();
    let mut args = vec![ns.as_str(), t.as_str()];
    args.extend(&keys);
    let java = apache::json_lines(&apache::java("5.3.3", "SelectByHash.java", &args));
    assert_eq!(java.last().map(|l| &l["done"]), Some(&Value::Bool(true)));
    for line in &java[..java.len() - 1] {
        let key = line["key"].as_str().unwrap();
        let mut msgs = by_key[key].clone();
        for m in &msgs {
            assert_eq!((&m["broker"], &m["queue"]), (&line["broker"], &line["queue"]), "{key}: Java's pick: {m}");
        }
        msgs.sort_by_key(|m| m["queue_offset"].as_i64().unwrap());
        let seqs: Vec<u64> = msgs.iter().map(|m| String::from_utf8(body_of(m)).unwrap().parse().unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{key}: stored in send order: {seqs:?}");
    }
    assert_eq!(java.len() - 1, by_key.len());
}

/// `mqtui produce` with `args`: (its result lines, its summary).
fn produce_all(args: &[&str]) -> (Vec<Value>, Value) {
    let o = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .arg("produce")
        .args(args)
        .args(["--output", "jsonl"])
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let mut lines: Vec<Value> =
        String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).collect();
    let summary = lines.pop().unwrap();
    (lines.into_iter().filter(|v| v["type"] == "result").collect(), summary)
}

#[test]
fn committed_transactions_are_visible_rolled_back_never_unknown_ones_as_the_check_back_answered() {
    let Some(ns) = apache::namesrv() else { return };
    // Commit, rollback, unknown; the Java broker checks the unknown ones back (6 s after, at its
    // check service's next run) and mqtui answers commit.
    let t = topic("Tx");
    create_topic(&ns, &t);
    let (results, summary) = produce_all(&[
        "--namesrv",
        &ns,
        "--topic",
        &t,
        "--transaction",
        "mix:1,1,1",
        "--transaction-check",
        "commit",
        "--transaction-wait-ms",
        "60000",
        "--body",
        "{{seq}}",
        "--count",
        "90",
    ]);
    assert_eq!(results.len(), 90);
    assert!(results.iter().all(|r| r["status"] == "SEND_OK"), "{results:?}");
    let tx = &summary["transactions"];
    assert!(tx["check_backs"].as_u64().unwrap() >= 30, "the Java broker checked back each unknown one: {tx}");
    let want: std::collections::BTreeMap<String, &Value> = results
        .iter()
        .filter(|r| r["transaction"] != "ROLLBACK_MESSAGE")
        .map(|r| (r["msg_id"].as_str().unwrap().to_string(), r))
        .collect();
    assert_eq!(want.len(), 60);
    let got = read_back(&ns, &t);
    let ids: std::collections::BTreeSet<String> =
        got.iter().map(|m| m["properties"]["UNIQ_KEY"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), got.len(), "each stored once");
    assert_eq!(ids, want.keys().cloned().collect(), "committed and checked-back ones, no rolled-back one");
    for m in &got {
        let r = want[m["properties"]["UNIQ_KEY"].as_str().unwrap()];
        assert_eq!((&m["broker"], &m["queue"]), (&r["broker"], &r["queue"]), "{m}");
        assert_eq!(body_of(m), r["send"].as_u64().unwrap().to_string().as_bytes(), "{m}");
        assert_eq!(m["properties"]["PGROUP"], "mqtui_producer_group", "{m}");
    }

    // Unknown, and the check-back answers rollback: nothing is ever visible.
    let t = topic("TxRollback");
    create_topic(&ns, &t);
    let (results, summary) = produce_all(&[
        "--namesrv",
        &ns,
        "--topic",
        &t,
        "--transaction",
        "unknown",
        "--transaction-check",
        "rollback",
        "--transaction-wait-ms",
        "60000",
        "--count",
        "20",
    ]);
    assert_eq!(results.len(), 20);
    assert!(summary["transactions"]["check_backs"].as_u64().unwrap() >= 20, "{summary}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(read_back(&ns, &t).len(), 0, "rolled back at the check-back");
}
