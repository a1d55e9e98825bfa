//! What `mqtui produce` sends, as a user gives it: `--body`, `--body-file`, `--input` (a file or
//! standard input) and the checks made before anything is sent. What the messages hold when
//! they arrive is read back from Apache RocketMQ in `tests/apache.rs`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn mqtui(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mqtui"));
    c.args(args)
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .env_remove("MQTUI_NAMESRV")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("run mqtui");
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("mqtui-content-{}-{name}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

fn results(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "result")
        .collect()
}

#[test]
fn a_bad_input_line_exits_2_naming_its_line_before_anything_is_sent() {
    let f = temp_file(
        "bad.jsonl",
        b"{\"body\":\"fine\"}\n# a comment\n{\"body\":\"also fine\",\"props\":{\"UNIQ_KEY\":\"mine\"}}\n",
    );
    let o = mqtui(&["produce", "--demo", "--input", f.to_str().unwrap(), "--count", "5", "--output", "jsonl"], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("line 3") && err.contains("props.UNIQ_KEY") && err.contains("used by system"), "{err}");
    assert!(o.stdout.is_empty(), "nothing sent: {}", String::from_utf8_lossy(&o.stdout));

    for (args, why) in [
        (vec!["--body", "x", "--size", "10"], "cannot be used with"),
        (vec!["--body", "{{sequence}}"], "unknown placeholder {{sequence}}"),
        (vec!["--body-file", "/nonexistent/body.bin"], "/nonexistent/body.bin"),
        (vec!["--delay-level", "19"], "19"),
        (vec!["--delay-level", "2", "--delay-ms", "100"], "cannot be used with"),
        (vec!["--deliver-at", "tomorrow"], "RFC 3339"),
        (vec!["--input", "/nonexistent/in.jsonl"], "/nonexistent/in.jsonl"),
        (vec!["--compress", "snappy"], "zlib (Java's default), zstd, lz4"),
        (vec!["--compress-level", "12"], "zlib's levels are 0-9"),
        (vec!["--sharding-key", "k", "--batch", "2"], "cannot be used with"),
        (vec!["--sharding-key", ""], "--sharding-key: empty"),
        (vec!["--sharding-key", "{{key}}"], "unknown placeholder"),
        (vec!["--transaction", "maybe"], "commit, rollback, unknown or mix:C,R,U"),
        (vec!["--transaction", "mix:0,0,0"], "not all 0"),
        (vec!["--transaction", "commit", "--oneway"], "cannot be used with"),
        (vec!["--transaction", "commit", "--sharding-key", "k"], "cannot be used with"),
        (vec!["--transaction-check", "later"], "commit, rollback or unknown"),
    ] {
        let mut a = vec!["produce", "--demo", "--count", "1"];
        a.extend(&args);
        let o = mqtui(&a, None);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(why), "{args:?}: {err}");
    }
}

#[test]
fn input_from_stdin_is_sent_in_order_and_looped_by_count() {
    let lines = b"{\"topic\":\"InputA\",\"body\":\"a {{seq}}\"}\n{\"topic\":\"InputB\",\"body_base64\":\"AAEC\"}\n";
    let o = mqtui(
        &["produce", "--demo", "--input", "-", "--count", "6", "--concurrency", "1", "--output", "jsonl"],
        Some(lines),
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = results(&o);
    assert_eq!(r.len(), 6);
    let topics: Vec<&str> = r.iter().map(|v| v["topic"].as_str().unwrap()).collect();
    assert_eq!(topics, ["InputA", "InputB", "InputA", "InputB", "InputA", "InputB"], "one at a time, in order");
    assert!(r.iter().all(|v| v["status"] == "SEND_OK"));
}

#[test]
fn a_body_file_is_sent_as_its_bytes() {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let f = temp_file("body.bin", &bytes);
    let o =
        mqtui(&["produce", "--demo", "--body-file", f.to_str().unwrap(), "--count", "3", "--output", "jsonl"], None);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(results(&o).iter().filter(|v| v["status"] == "SEND_OK").count(), 3);
    let empty = temp_file("empty.bin", b"");
    let o = mqtui(&["produce", "--demo", "--body-file", empty.to_str().unwrap(), "--count", "1"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("empty"));
}

#[test]
fn ordered_sends_keep_each_keys_queue_and_order_and_say_so() {
    // Keys from an input file and from the command line's template.
    let f = temp_file(
        "ordered.jsonl",
        b"{\"sharding_key\":\"order-1\",\"body\":\"a {{seq}}\"}\n{\"body\":\"b {{seq}}\"}\n",
    );
    let o = mqtui(
        &[
            "produce",
            "--demo",
            "--input",
            f.to_str().unwrap(),
            "--sharding-key",
            "k{{rand:3}}",
            "--count",
            "300",
            "--output",
            "jsonl",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let rs = results(&o);
    assert_eq!(rs.len(), 300);
    let mut by_key: std::collections::BTreeMap<String, Vec<&serde_json::Value>> = Default::default();
    for r in &rs {
        by_key.entry(r["sharding_key"].as_str().expect("every send is ordered").to_string()).or_default().push(r);
    }
    assert_eq!(by_key["order-1"].len(), 150, "the odd lines' own key");
    assert!(by_key.keys().any(|k| k.starts_with('k')), "{:?}", by_key.keys());
    for (k, sends) in &mut by_key {
        let place = |r: &serde_json::Value| (r["broker"].as_str().unwrap().to_string(), r["queue"].as_i64().unwrap());
        assert!(sends.iter().all(|r| place(r) == place(sends[0])), "{k}: one queue");
        sends.sort_by_key(|r| r["send"].as_u64().unwrap());
        // A key's send waits for its previous one: offsets rise with the send number.
        let offsets: Vec<i64> = sends.iter().map(|r| r["queue_offset"].as_i64().unwrap()).collect();
        assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{k}: {offsets:?}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(summary["ordered"], 300);
    // Queue "order-1" as Java's SelectMessageQueueByHash picks it among the demo's 3 × 4 queues:
    // "order-1".hashCode() % 12 = -2 → 2: broker-a's queue 2; with --brokers 2, % 8 = -6 → 6:
    // broker-b's queue 2.
    let r = by_key["order-1"][0];
    assert_eq!((r["broker"].as_str(), r["queue"].as_i64()), (Some("broker-a"), Some(2)), "{r}");
    let o = mqtui(
        &["produce", "--demo", "--brokers", "2", "--sharding-key", "order-1", "--count", "3", "--output", "jsonl"],
        None,
    );
    for r in results(&o) {
        assert_eq!((r["broker"].as_str(), r["queue"].as_i64()), (Some("broker-b"), Some(2)), "{r}");
    }
}

#[test]
fn transactions_commit_roll_back_and_answer_the_check_backs_of_unknown_ones() {
    let o = mqtui(
        &["produce", "--demo", "--brokers", "2", "--transaction", "mix:2,1,1", "--count", "40", "--output", "jsonl"],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let rs = results(&o);
    assert_eq!(rs.len(), 40);
    let count = |s: &str| rs.iter().filter(|r| r["transaction"] == s).count();
    assert_eq!((count("COMMIT_MESSAGE"), count("ROLLBACK_MESSAGE"), count("UNKNOW")), (20, 10, 10));
    assert!(rs.iter().all(|r| r["status"] == "SEND_OK"));
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    let t = &summary["transactions"];
    assert_eq!(
        (&t["half"], &t["commit"], &t["rollback"], &t["unknown"]),
        (&40.into(), &20.into(), &10.into(), &10.into())
    );
    assert!(t["check_backs"].as_u64().unwrap() >= 10, "stayed up to answer them: {t}");
    assert_eq!(t["check_answer"], "COMMIT_MESSAGE");

    // An input line may not be both ordered and transactional.
    let f = temp_file("tx-and-key.jsonl", b"{\"transaction\":\"commit\",\"sharding_key\":\"k\"}\n");
    let o = mqtui(&["produce", "--demo", "--input", f.to_str().unwrap(), "--count", "1"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not both"), "{}", String::from_utf8_lossy(&o.stderr));
}
