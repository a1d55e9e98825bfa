//! `mqtui produce` as a user runs it: the real binary, its output contract and exit codes.

use std::collections::{HashMap, HashSet};
use std::process::{Command, Output};

fn mqtui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(args)
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .env_remove("MQTUI_NAMESRV")
        .output()
        .expect("run mqtui")
}

fn lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// The command, at a bounded rate: broker-b is down from 3 s to 15 s.
#[test]
fn broker_down_scenario_shows_failures_isolation_and_retries_with_no_failed_result() {
    let o = mqtui(&[
        "produce",
        "--demo",
        "--scenario",
        "broker-down",
        "--duration",
        "20",
        "--rate",
        "1000",
        "--output",
        "jsonl",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v = lines(&o);
    let summary = v.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["v"], 1);
    assert_eq!(summary["failed"], 0, "0 FAILED results");
    let sent = summary["sent"].as_u64().unwrap();
    assert!(sent > 15_000, "{sent}");
    assert_eq!(summary["ok"], sent);

    let mut results = HashSet::new();
    let mut b_failures = 0;
    let mut b_faults = 0;
    let mut retried_ok = 0;
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    for text in stdout.lines() {
        assert!(text.starts_with("{\"type\":"), "`type` is the first field: {text}");
    }
    for l in &v[..v.len() - 1] {
        match l["type"].as_str().unwrap() {
            "attempt" => {
                if l["broker"] == "broker-b" && l["outcome"] != "ok" {
                    assert!(matches!(l["outcome"].as_str(), Some("send_failed" | "unknown")), "{l}");
                    assert_eq!(l["code"], serde_json::Value::Null);
                    assert_eq!(l["isolated_ms"], 10_000);
                    b_failures += 1;
                }
            }
            "fault" => {
                assert_eq!(l["broker"], "broker-b");
                assert_eq!(l["isolated_ms"], 10_000);
                b_faults += 1;
            }
            "result" => {
                assert!(results.insert(l["send"].as_u64().unwrap()), "one result per send");
                assert_ne!(l["status"], "FAILED");
                if l["attempts"].as_u64().unwrap() > 1 {
                    let trail: Vec<&str> =
                        l["brokers"].as_array().unwrap().iter().map(|b| b.as_str().unwrap()).collect();
                    assert_eq!(trail[0], "broker-b");
                    assert_ne!(trail[1], "broker-b");
                    retried_ok += 1;
                }
                assert_eq!(l["msg_id"].as_str().unwrap().len(), 32);
            }
            other => panic!("unknown line type {other}"),
        }
    }
    assert_eq!(results.len() as u64, sent);
    assert!(b_failures > 0 && b_faults > 0 && retried_ok > 0, "{b_failures} {b_faults} {retried_ok}");
    let brokers: HashMap<&str, &serde_json::Value> =
        summary["brokers"].as_array().unwrap().iter().map(|b| (b["name"].as_str().unwrap(), b)).collect();
    assert!(brokers["broker-b"]["isolations"].as_u64().unwrap() >= 1);
    assert!(brokers["broker-b"]["isolated_ms"].as_u64().unwrap() >= 10_000);
    assert_eq!(summary["retries"].as_u64().unwrap(), retried_ok);
}

#[test]
fn json_output_is_the_summary_object_alone() {
    let o = mqtui(&["produce", "--count", "500", "--output", "json", "--brokers", "2"]);
    assert_eq!(o.status.code(), Some(0));
    let v = lines(&o);
    assert_eq!(v.len(), 1);
    let s = &v[0];
    for key in [
        "type",
        "v",
        "sent",
        "ok",
        "failed",
        "attempts",
        "retries",
        "elapsed_s",
        "tps",
        "latency_ms",
        "name_server_lookups",
        "brokers",
    ] {
        assert!(s.get(key).is_some(), "missing {key}");
    }
    for key in ["p50", "p99", "p999", "max"] {
        assert!(s["latency_ms"][key].is_number());
    }
    assert_eq!(s["sent"], 500);
    assert_eq!(s["name_server_lookups"], 1);
    let b = &s["brokers"][0];
    for key in ["name", "attempts", "ok", "failed", "isolations", "isolated_ms", "latency_ms"] {
        assert!(b.get(key).is_some(), "broker missing {key}");
    }
}

#[test]
fn summary_output_is_a_table() {
    let o = mqtui(&[
        "produce",
        "--count",
        "300",
        "--attempt-timeout-ms",
        "500",
        "--fault-table",
        "4x",
        "--no-fault-avoidance",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("sent 300  ok 300  failed 0"), "{text}");
    assert!(
        text.contains("fault table 4.x") && text.contains("avoidance OFF") && text.contains("attempt timeout 500 ms")
    );
    assert!(text.contains("broker-c"));
}

#[test]
fn failed_sends_exit_1() {
    let dir = std::env::temp_dir().join(format!("mqtui-busy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("all-busy.toml");
    std::fs::write(&file, "[[step]]\nat = 0\nbroker = \"broker-a\"\nerror = \"SYSTEM_BUSY\"\n").unwrap();
    let o = mqtui(&[
        "produce",
        "--brokers",
        "1",
        "--count",
        "20",
        "--scenario",
        file.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let s = &lines(&o)[0];
    assert_eq!(s["failed"], 20);
    assert_eq!(s["retries"], 0, "broker errors are not retried");
}

#[test]
fn bad_flags_and_config_exit_2() {
    for args in [
        vec!["produce", "--concurrency", "0"],
        vec!["produce", "--fault-table", "6x"],
        vec!["produce", "--output", "xml"],
        vec!["produce", "--count", "5", "--duration", "3"],
        vec!["produce", "--demo", "--namesrv", "127.0.0.1:9876"],
        vec!["produce", "--scenario", "no-such-scenario"],
        vec!["produce", "--topic", "bad topic!"],
        vec!["produce", "--namesrv", "127.0.0.1:9876", "--scenario", "hang"],
        vec!["produce", "--namesrv", "localhost"],
        vec!["produce", "--namesrv", "127.0.0.1:9876;10.0.0.1:99999"],
        vec!["route", "--namesrv", "host:port"],
        vec!["topic", "create", "--namesrv", ";", "--topic", "T"],
        vec!["produce", "--load-model", "open"],
        vec!["produce", "--load-model", "open", "--rate", "max"],
        vec!["produce", "--load-model", "half"],
        vec!["produce", "--threshold", "p98<5ms"],
        vec!["produce", "--threshold", "p99<5"],
    ] {
        let o = mqtui(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(!o.stderr.is_empty(), "{args:?} says why");
    }
}

#[test]
fn no_name_server_exits_3_with_a_clear_message() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let o = mqtui(&["produce", "--namesrv", &format!("127.0.0.1:{port}"), "--count", "5"]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no name server reachable") && err.contains(&port.to_string()), "{err}");
}

#[test]
fn the_config_file_sets_defaults_and_a_bad_one_is_named_with_its_line() {
    let dir = std::env::temp_dir().join(format!("mqtui-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(&good, "# defaults\ntimeout-ms = 1500\nretries = 1\nfault_table = \"4x\"\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["produce", "--count", "20", "--output", "json", "--retries", "0"])
        .env("MQTUI_CONFIG", &good)
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let run = &lines(&o)[0]["run"];
    assert_eq!(run["timeout_ms"], 1500, "from the file");
    assert_eq!(run["fault_table"], "4.x", "from the file");
    assert_eq!(run["retries"], 0, "the command line wins");

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "timeout-ms = 1500\n\ntimeout-sm = 3\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mqtui")).args(["produce"]).env("MQTUI_CONFIG", &bad).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml") && err.contains("line 3") && err.contains("timeout-sm"), "{err}");

    std::fs::write(&bad, "retries = 1\ntimeout-ms = \"soon\"\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mqtui")).args(["produce"]).env("MQTUI_CONFIG", &bad).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "a bad value is a bad flag");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 2") && err.contains("'soon'") && err.contains("timeout-ms"), "{err}");
    // One value a key: a list or a table is refused where it stands.
    std::fs::write(&bad, "retries = 1\n\ntimeout-ms = [1, 2]\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mqtui")).args(["produce"]).env("MQTUI_CONFIG", &bad).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 3") && err.contains("expected a single value"), "{err}");

    // The environment wins over the file; the file's values are the flags' defaults.
    let o = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["produce", "--count", "5", "--output", "json"])
        .env("MQTUI_CONFIG", &good)
        .env("MQTUI_TIMEOUT_MS", "2500")
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .output()
        .unwrap();
    assert_eq!(lines(&o)[0]["run"]["timeout_ms"], 2500, "{}", String::from_utf8_lossy(&o.stderr));
    // --demo wins over the file's name server (a default, not a flag given).
    let remote = dir.join("remote.toml");
    std::fs::write(&remote, "namesrv = \"127.0.0.1:1\"\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["produce", "--demo", "--count", "5", "--output", "json"])
        .env("MQTUI_CONFIG", &remote)
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(lines(&o)[0]["run"]["target"].as_str().unwrap().starts_with("demo cluster"));
    // --chaos takes the file's name server (a default) as one given on the command line; with
    // none at all it is a bad flag.
    let o = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["produce", "--chaos", "--count", "1"])
        .env("MQTUI_CONFIG", &remote)
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "the file's dead name server: {}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["produce", "--chaos"])
        .env("MQTUI_CONFIG", &good)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--chaos needs --namesrv"));
    let help = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["produce", "--help"])
        .env("MQTUI_CONFIG", &good)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("[default: 1500]"), "--help shows the file's default");
}

#[test]
fn unreachable_brokers_are_named_and_none_reachable_exits_3() {
    let dir = std::env::temp_dir().join(format!("mqtui-unreach-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // broker-b down from the start: a warning, sends go to broker-a.
    let one = dir.join("one-down.toml");
    std::fs::write(&one, "[[step]]\nat = 0\nbroker = \"broker-b\"\ndown = true\n").unwrap();
    let o =
        mqtui(&["produce", "--brokers", "2", "--count", "50", "--scenario", one.to_str().unwrap(), "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not reachable from here: broker-b at 127.0.0.1:") && err.contains("brokerIP1"), "{err}");
    // Every broker down: exit 3, and why.
    let all = dir.join("all-down.toml");
    std::fs::write(&all, "[[step]]\nat = 0\nbroker = \"broker-a\"\ndown = true\n").unwrap();
    let o = mqtui(&["produce", "--brokers", "1", "--count", "5", "--scenario", all.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no broker of topic MqtuiTopic is reachable from here"));
}

#[test]
fn a_topic_without_writable_queues_exits_3_and_says_so() {
    let dir = std::env::temp_dir().join(format!("mqtui-ro-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("read-only.toml");
    std::fs::write(&f, "[[step]]\nat = 0\nnamesrv = true\ntopic_read_only = \"*\"\n").unwrap();
    let o = mqtui(&["produce", "--count", "5", "--scenario", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("topic MqtuiTopic has no writable queue") && err.contains("perm"), "{err}");
}

#[test]
fn a_topic_with_no_route_exits_3_and_says_what_to_do() {
    let dir = std::env::temp_dir().join(format!("mqtui-noroute-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("missing.toml");
    std::fs::write(&f, "[[step]]\nat = 0\nnamesrv = true\ntopic_missing = \"*\"\n").unwrap();
    let o = mqtui(&["produce", "--count", "5", "--scenario", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("topic MqtuiTopic has no route") && err.contains("auto-create"), "{err}");
}

/// `--java` selects the whole send path. A hung broker-b (the `hang` scenario, 3 s to 15 s):
/// - 4.9.8: the attempt on broker-b fails 4–5 s after it began (the response-table scan), then
///   the retries with a negative budget fail in invokeAsync without sending and isolate the
///   brokers they picked for 10 minutes (the 4.x table): three attempts.
/// - 5.3.3: the same timeout, then no retry without time left: one attempt.
#[test]
fn java_profiles_show_each_versions_hang() {
    for java in ["4.9.8", "5.3.3"] {
        let o = mqtui(&[
            "produce",
            "--demo",
            "--scenario",
            "hang",
            "--java",
            java,
            "--duration",
            "6",
            "--rate",
            "40",
            "--output",
            "jsonl",
        ]);
        assert_eq!(o.status.code(), Some(1), "{java}: sends failed: {}", String::from_utf8_lossy(&o.stderr));
        let v = lines(&o);
        let summary = v.last().unwrap();
        assert_eq!(summary["run"]["java"], java);
        let results: Vec<&serde_json::Value> = v.iter().filter(|l| l["type"] == "result").collect();
        let attempts: Vec<&serde_json::Value> = v.iter().filter(|l| l["type"] == "attempt").collect();
        let of = |send: &serde_json::Value| -> Vec<&serde_json::Value> {
            attempts.iter().copied().filter(|a| a["send"] == *send).collect()
        };
        let hung: Vec<&&serde_json::Value> = results
            .iter()
            .filter(|r| r["status"] == "FAILED" && of(&r["send"])[0]["java_error"] == "RemotingTimeoutException")
            .collect();
        assert!(!hung.is_empty(), "{java}: some sends hung on broker-b");
        for r in hung {
            let a = of(&r["send"]);
            assert_eq!(a[0]["broker"], "broker-b");
            let waited = a[0]["latency_ms"].as_f64().unwrap();
            assert!((4000.0..=5100.0).contains(&waited), "{java}: the scan fails it 4-5 s in: {waited}");
            if java == "4.9.8" {
                assert_eq!(a.len(), 3, "{r}");
                // The response future's timeout: what was left of 3000 ms when it was made.
                let e = a[0]["error"].as_str().unwrap();
                let t: u64 = e
                    .strip_prefix("wait response timeout ")
                    .and_then(|t| t.strip_suffix("ms"))
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((2900..=3000).contains(&t), "{e}");
                for retry in &a[1..] {
                    assert_eq!(retry["java_error"], "RemotingTooMuchRequestException", "{retry}");
                    assert_eq!(retry["isolated_ms"], 600_000, "10 minutes, never contacted: {retry}");
                    assert!(retry["error"].as_str().unwrap().starts_with("invokeAsync call the addr["));
                }
                assert!(r["error"].as_str().unwrap().ends_with("] timeout"), "{r}");
            } else {
                assert_eq!(a.len(), 1, "{r}");
                let e = r["error"].as_str().unwrap();
                let cost: f64 = e.strip_prefix("wait response timeout, cost=").unwrap().parse().unwrap();
                // `cost` is taken as the scan fails the request, the attempt's latency a moment
                // later: within a few ms of each other on a loaded machine.
                assert!((cost - waited).abs() <= 5.0, "{e} vs {waited}");
                assert_eq!(a[0]["isolated_ms"], 10_000);
            }
        }
        let faults: Vec<&serde_json::Value> = v.iter().filter(|l| l["type"] == "fault").collect();
        let healthy_isolated = faults.iter().any(|f| f["broker"] != "broker-b");
        assert_eq!(healthy_isolated, java == "4.9.8", "{java}: healthy brokers isolated: {faults:?}");
    }
}

/// Under --rate the summary says the load model and the schedule's figures; a held-back send's
/// result line carries its lag; closed is said so.
#[test]
fn a_rated_run_reports_its_load_model_and_schedule() {
    // 1 in flight, 20 ms per send at 100/s: each send waits for the previous one.
    let dir = std::env::temp_dir().join(format!("mqtui-open-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("slow.toml");
    std::fs::write(&file, "[[step]]\nat = 0\nbroker = \"broker-a\"\nlatency_ms = 20\n").unwrap();
    let run = |model: &str| {
        let o = mqtui(&[
            "produce",
            "--brokers",
            "1",
            "--scenario",
            file.to_str().unwrap(),
            "--rate",
            "100",
            "--concurrency",
            "1",
            "--count",
            "30",
            "--load-model",
            model,
            "--output",
            "jsonl",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        lines(&o)
    };
    let v = run("open");
    let s = v.last().unwrap();
    assert_eq!(s["run"]["load_model"], "open");
    assert_eq!((s["run"]["rate"].as_f64(), s["run"]["concurrency"].as_u64()), (Some(100.0), Some(1)));
    assert!(s["behind_schedule"].as_u64().unwrap() >= 25, "{s}");
    assert!(s["max_lag_ms"].as_f64().unwrap() >= 200.0, "30 sends of 20 ms fall ~300 ms behind: {s}");
    assert!(s["latency_ms"]["max"].as_f64() > s["service_latency_ms"]["max"].as_f64(), "{s}");
    let last = v.iter().filter(|l| l["type"] == "result").max_by_key(|l| l["send"].as_u64()).unwrap();
    assert!(last["lag_ms"].as_f64().unwrap() >= 200.0, "{last}");
    assert!(last["latency_ms"].as_f64().unwrap() >= last["service_latency_ms"].as_f64().unwrap() + 200.0);

    let v = run("closed");
    let s = v.last().unwrap();
    assert_eq!((s["run"]["load_model"].as_str(), s["behind_schedule"].as_u64()), (Some("closed"), Some(0)));
    assert!(v.iter().filter(|l| l["type"] == "result").all(|l| l.get("lag_ms").is_none()));
    let o = mqtui(&["produce", "--count", "5", "--rate", "100", "--load-model", "closed"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("load model closed · rate 100/s") && text.contains("(closed model: from each send's real start)"),
        "{text}"
    );
}

/// Thresholds: a slow broker breaks `p99<100ms` (exit 4, listed failed, its value measured); a
/// healthy run passes it (exit 0); a scenario file holds faults and thresholds together; with
/// --abort-on-fail the run stops at the first bound broken for good.
#[test]
fn thresholds_pass_fail_and_abort() {
    let dir = std::env::temp_dir().join(format!("mqtui-thresholds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let slow = dir.join("slow.toml");
    std::fs::write(
        &slow,
        "[[step]]\nat = 0\nbroker = \"broker-a\"\nlatency_ms = 150\n[[threshold]]\nexpr = \"failed=0\"\n[[threshold]]\nexpr = \"broker-a.p99 < 100ms\"\n",
    )
    .unwrap();
    let o = mqtui(&[
        "produce",
        "--brokers",
        "1",
        "--scenario",
        slow.to_str().unwrap(),
        "--count",
        "40",
        "--concurrency",
        "8",
        "--threshold",
        "p99<100ms",
        "--output",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", String::from_utf8_lossy(&o.stderr));
    let s = &lines(&o)[0];
    let t = s["thresholds"].as_array().unwrap();
    let by = |e: &str| t.iter().find(|v| v["expr"] == e).unwrap_or_else(|| panic!("{e} in {s}"));
    assert_eq!(by("p99<100ms")["ok"], false);
    assert!(by("p99<100ms")["value"].as_f64().unwrap() >= 150.0);
    assert_eq!((by("failed=0")["ok"].as_bool(), by("failed=0")["value"].as_f64()), (Some(true), Some(0.0)));
    assert_eq!(by("broker-a.p99 < 100ms")["ok"], false, "from the scenario file");

    let o = mqtui(&["produce", "--count", "40", "--threshold", "p99<100ms", "--threshold", "tps>1"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("thresholds  2 passed, 0 failed") && text.contains("PASS p99<100ms  (measured"), "{text}");

    // Every send fails (SYSTEM_BUSY is not retried): failed=0 is broken at the first, and the
    // run stops there instead of sending its 100,000.
    let busy = dir.join("busy.toml");
    std::fs::write(&busy, "[[step]]\nat = 0\nbroker = \"broker-a\"\nerror = \"SYSTEM_BUSY\"\n").unwrap();
    let o = mqtui(&[
        "produce",
        "--brokers",
        "1",
        "--scenario",
        busy.to_str().unwrap(),
        "--count",
        "100000",
        "--rate",
        "200",
        "--threshold",
        "failed=0",
        "--abort-on-fail",
        "--output",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(4), "a threshold failed wins over 1: {}", String::from_utf8_lossy(&o.stderr));
    let s = &lines(&o)[0];
    assert_eq!(s["aborted_by"], "failed=0");
    assert!(s["sent"].as_u64().unwrap() < 100, "stopped at once: {s}");
}

/// `--every`: a line per interval, in jsonl an "interval" object with each broker's state; in
/// the table output a readable line; json output stays the summary alone.
#[test]
fn every_interval_prints_a_line() {
    let dir = std::env::temp_dir().join(format!("mqtui-every-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("b-down.toml");
    std::fs::write(&file, "[[step]]\nat = 0.5\nbroker = \"broker-b\"\ndown = true\n").unwrap();
    let args = |output: &'static str| {
        vec![
            "produce",
            "--brokers",
            "2",
            "--scenario",
            file.to_str().unwrap(),
            "--duration",
            "3.5",
            "--rate",
            "200",
            "--every",
            "1s",
            "--output",
            output,
        ]
    };
    let o = mqtui(&args("jsonl"));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v = lines(&o);
    let iv: Vec<&serde_json::Value> = v.iter().filter(|l| l["type"] == "interval").collect();
    assert_eq!(iv.len(), 3, "at 1, 2 and 3 s");
    for (i, l) in iv.iter().enumerate() {
        assert!((l["t_s"].as_f64().unwrap() - (i + 1) as f64).abs() < 0.3, "{l}");
        assert!(l["sent"].as_u64().unwrap() > 100, "about 200 a second: {l}");
        assert_eq!(l["brokers"].as_array().unwrap().len(), 2);
    }
    // broker-b, down since 0.5 s, isolated by its first refused connection (10 s): an interval
    // with no attempt on it (the last, or the one before on a slow machine).
    let b = |l: &serde_json::Value| l["brokers"][1].clone();
    assert_eq!(b(iv[2])["state"], "isolated", "{}", iv[2]);
    assert!(iv[1..].iter().any(|l| b(l)["attempts"] == 0), "no attempt while isolated: {iv:#?}");
    let summary = v.last().unwrap();
    assert!(iv.iter().map(|l| l["sent"].as_u64().unwrap()).sum::<u64>() <= summary["sent"].as_u64().unwrap());

    let o = mqtui(&args("summary"));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.lines().filter(|l| l.starts_with('[')).count(), 3, "{text}");
    assert!(text.contains("broker-b ISOLATED"), "{text}");
    let o = mqtui(&args("json"));
    assert_eq!(lines(&o).len(), 1, "json: the summary alone");
}

/// Load shapes: `--stages` ramps the rate, `--burst N --burst-every D` adds bursts; the run lasts
/// the stages' total; the summary says the shape; a scenario file holds stages, faults and
/// thresholds together.
#[test]
fn stages_and_bursts_shape_the_load_from_flags_and_from_a_scenario_file() {
    // 0 → 100/s over 1 s (49 slots before its end) and 20 at 500 ms.
    let o = mqtui(&["produce", "--stages", "1s:100", "--burst", "20", "--burst-every", "500ms", "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let s = &lines(&o)[0];
    assert_eq!(s["run"]["shape"], "stages 1s:100 · burst 20 every 500ms", "{s}");
    assert_eq!(s["run"]["load_model"], "open");
    let due = s["sent"].as_u64().unwrap() + s["not_started"].as_u64().unwrap_or(0);
    assert_eq!(due, 49 + 20, "{s}");
    assert!(s["elapsed_s"].as_f64().unwrap() < 3.0, "the run lasts its stages: {s}");

    for bad in [&["--stages", "10s"][..], &["--stages", "0s:5"], &["--burst", "5"], &["--burst-every", "1s"]] {
        let mut args = vec!["produce"];
        args.extend_from_slice(bad);
        let o = mqtui(&args);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", String::from_utf8_lossy(&o.stderr));
    }

    // One file: the load (100/s then a ramp to 300/s), a fault (broker-a slow from 1 s) and the
    // run's criteria (p99 under 100 ms fails, no failures passes).
    let dir = std::env::temp_dir().join(format!("mqtui-shapes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ramp-slow.toml");
    std::fs::write(
        &file,
        "[[stage]]\nduration = \"1s\"\nrate = 100\n[[stage]]\nduration = \"1s\"\nrate = 300\n\
         [[step]]\nat = 1\nbroker = \"broker-a\"\nlatency_ms = 150\n\
         [[threshold]]\nexpr = \"p99<100ms\"\n[[threshold]]\nexpr = \"failed=0\"\n",
    )
    .unwrap();
    let o = mqtui(&["produce", "--brokers", "1", "--scenario", file.to_str().unwrap(), "--output", "json"]);
    assert_eq!(o.status.code(), Some(4), "{}", String::from_utf8_lossy(&o.stderr));
    let s = &lines(&o)[0];
    assert_eq!(s["run"]["shape"], "stages 1s:100,1s:300", "{s}");
    // 0 → 100 over 1 s: 50; 100 → 300 over 1 s: 200; the first due at count 1, the 250th at the end.
    let due = s["sent"].as_u64().unwrap() + s["not_started"].as_u64().unwrap_or(0);
    assert_eq!(due, 249, "{s}");
    let t = s["thresholds"].as_array().unwrap();
    let by = |e: &str| t.iter().find(|v| v["expr"] == e).unwrap_or_else(|| panic!("{e} in {s}"));
    assert_eq!(by("p99<100ms")["ok"], false, "broker-a answered in 150 ms from 1 s: {s}");
    assert_eq!(by("failed=0")["ok"], true);
}
