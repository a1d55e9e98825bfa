//! The command line at its edges, as a careless user or a script meets it: outputs that cannot
//! be written (a pipe closed early, a full disk, a closed descriptor), SIGHUP, no terminal,
//! numbers out of range, separators in message content, secrets in errors.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn mqtui() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mqtui"));
    c.env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"));
    c.env_remove("MQTUI_CONFIG");
    c.env("XDG_CONFIG_HOME", std::env::temp_dir().join("mqtui-test-no-config"));
    c
}

/// Through `sh -c`, for redirections a Command cannot say (`>&-`, `| head -1`).
fn sh(script: &str) -> (Option<i32>, String, Duration) {
    let t0 = Instant::now();
    let o = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("MQTUI", env!("CARGO_BIN_EXE_mqtui"))
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    (o.status.code(), said, t0.elapsed())
}

#[test]
fn a_reader_that_goes_away_stops_the_run_within_a_second_with_exit_5() {
    // 200,000 messages asked for; `head -1` takes one line and closes the pipe.
    let (code, said2, took) =
        sh("bash -c '$MQTUI produce --count 200000 --output jsonl | head -1 >/dev/null; exit ${PIPESTATUS[0]}'");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(code, Some(5), "{said2}");
    assert!(said2.contains("cannot write to standard output") && said2.contains("stopped after"), "{said2}");
    let sent: u64 = said2.split("stopped after ").nth(1).and_then(|s| s.split(' ').next()).unwrap().parse().unwrap();
    assert!(sent < 200_000, "stopped early: {sent} sends");
}

#[test]
fn a_full_disk_or_a_closed_stdout_is_a_message_and_exit_5() {
    for (what, redirect) in [("a full disk", ">/dev/full"), ("a closed stdout", ">&-")] {
        for output in ["jsonl", "summary", "json"] {
            let (code, said, _) = sh(&format!("$MQTUI produce --count 50 --output {output} {redirect}"));
            assert_eq!(code, Some(5), "{what}, --output {output}: {said}");
            assert!(said.contains("cannot write to standard output"), "{what}: {said}");
        }
    }
    let (code, said, _) = sh("$MQTUI produce --count 50 --record /dev/full >/dev/null");
    assert_eq!(code, Some(5), "--record on a full disk: {said}");
    assert!(said.contains("/dev/full") && said.contains("No space left"), "{said}");
    // `report` and `cluster` too.
    let (code, said, _) = sh("$MQTUI report /nonexistent.jsonl >/dev/full");
    assert_eq!(code, Some(3), "{said}");
}

#[test]
fn sighup_ends_a_run_with_its_summary_and_recording() {
    let rec = std::env::temp_dir().join(format!("mqtui-hup-{}.jsonl", std::process::id()));
    let mut child = mqtui()
        .args(["produce", "--duration", "60", "--rate", "100", "--output", "json", "--record"])
        .arg(&rec)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    // SAFETY: our own child, still running.
    unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
    let t0 = Instant::now();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let status = child.wait().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(summary["sent"].as_u64().unwrap() > 100, "{summary}");
    let last = std::fs::read_to_string(&rec).unwrap().lines().last().unwrap().to_string();
    assert!(last.contains(r#""type":"end""#), "the recording is whole: {last}");
    let _ = std::fs::remove_file(&rec);
}

#[test]
fn the_console_and_replay_without_a_terminal_exit_2_with_one_line() {
    for (args, says) in [
        (vec![], "the console needs a terminal: use mqtui produce"),
        (vec!["replay", "/nonexistent.jsonl"], "replay needs a terminal: use mqtui report"),
    ] {
        let o = mqtui().args(&args).stdin(Stdio::null()).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim(), format!("mqtui: {says}"), "one line");
    }
}

#[test]
fn numbers_out_of_range_in_flags_and_files_are_exit_2() {
    let dir = std::env::temp_dir().join(format!("mqtui-edges-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = |name: &str, text: &str| {
        let p = dir.join(format!("{name}.toml"));
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let cases: Vec<Vec<String>> = vec![
        vec!["--rate".into(), "1e15".into()],
        vec!["--rate".into(), "nan".into()],
        vec!["--duration".into(), "1e300".into()],
        vec!["--duration".into(), "inf".into()],
        vec!["--stages".into(), "10s:1e15".into()],
        vec!["--stages".into(), "1e300s:100".into()],
        vec!["--stages".into(), "999999999999h:100".into()],
        vec!["--duration".into(), "40000000".into()],
        vec!["--burst".into(), "5".into(), "--burst-every".into(), "1e300s".into()],
        vec!["--every".into(), "1e300s".into()],
        vec!["--transaction-wait-ms".into(), "18446744073709551615".into()],
        vec!["--delay-ms".into(), "18446744073709551615".into()],
        vec!["--deliver-at".into(), "9223372036854775807".into()],
        vec!["--scenario".into(), scenario("at", "[[step]]\nat = 1e300\nbroker = \"broker-a\"\nhang = true\n")],
        vec!["--scenario".into(), scenario("nan", "[[step]]\nat = nan\nbroker = \"broker-a\"\nhang = true\n")],
        vec!["--scenario".into(), scenario("rate", "[[stage]]\nduration = \"10s\"\nrate = 1e15\n")],
        vec![
            "--scenario".into(),
            scenario("rep", "repeat_every = 1e300\n[[step]]\nat = 1\nbroker = \"broker-a\"\nhang = true\n"),
        ],
        vec![
            "--scenario".into(),
            scenario("lat", "[[step]]\nat = 1\nbroker = \"broker-a\"\nlatency_ms = 18446744073709551615\n"),
        ],
    ];
    for args in cases {
        let o = mqtui().arg("produce").args(&args).args(["--count", "1"]).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // A file that never ends is read up to its bound, then refused.
    let o = mqtui().args(["produce", "--scenario", "/dev/zero", "--count", "1"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let o = mqtui().args(["produce", "--count", "1"]).env("MQTUI_CONFIG", "/dev/zero").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("larger than 1 MiB"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn property_separators_in_message_content_are_exit_2() {
    let dir = std::env::temp_dir().join(format!("mqtui-sep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = |name: &str, line: &str| {
        let p = dir.join(name);
        std::fs::write(&p, line).unwrap();
        p.display().to_string()
    };
    let cases: Vec<Vec<String>> = vec![
        vec!["--tag".into(), "t\u{2}TIMER_DELAY_SEC\u{1}99".into()],
        vec!["--keys".into(), "a\u{1}b".into()],
        vec!["--keys".into(), "ok {{seq}}\u{2}".into()],
        vec!["--sharding-key".into(), "k\u{2}".into()],
        vec!["--prop".into(), "a=b\u{1}c".into()],
        vec!["--input".into(), input("tag.jsonl", "{\"tag\":\"t\\u0002TIMER_DELAY_SEC\\u000199\"}\n")],
        vec!["--input".into(), input("keys.jsonl", "{\"keys\":[\"x\\u0001\"]}\n")],
        vec!["--input".into(), input("props.jsonl", "{\"props\":{\"a\":\"b\\u0002\"}}\n")],
        vec!["--input".into(), input("sk.jsonl", "{\"sharding_key\":\"s\\u0001{{seq}}\"}\n")],
    ];
    for args in cases {
        let o = mqtui().arg("produce").args(&args).args(["--count", "1"]).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("\\u0001 or \\u0002") || err.contains("separator"), "{args:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn secrets_stay_out_of_errors() {
    let dir = std::env::temp_dir().join(format!("mqtui-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = "Sup3rS3cr3tV4lue";
    for (name, text) in [
        ("bare", format!("access-key = \"ak\"\nsecret-key = {secret}\n")),
        ("open", format!("access-key = \"ak\"\nsecret_key = \"{secret}\n")),
        ("acl", format!("acl = \"nocolon{secret}\"\n")),
    ] {
        let p = dir.join(format!("{name}.toml"));
        std::fs::write(&p, &text).unwrap();
        let cmd = if name == "acl" { "cluster" } else { "produce" };
        let o = mqtui().args([cmd, "--count", "1"]).env("MQTUI_CONFIG", &p).output().unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.status.code(), Some(2), "{name}: {said}");
        assert!(!said.contains(secret), "{name}: the secret is in the error: {said}");
        assert!(said.contains("not shown"), "{name}: {said}");
    }
    let o = mqtui().args(["cluster", "--acl", &format!("nocolon{secret}")]).output().unwrap();
    let said = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(!said.contains(secret), "{said}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mqtui_cluster_with_a_closed_stdout_says_so() {
    let (code, said, _) = sh("$MQTUI cluster --port 0 >&-");
    assert_eq!(code, Some(5), "{said}");
    assert!(said.contains("cannot write to standard output"), "{said}");
}

/// A recording whose numbers are the extremes of their types (as a corrupt or hand-made file
/// may hold): every report format and the replay read it without a panic.
#[test]
fn a_recording_of_extreme_numbers_is_reported_and_replayed_without_panic() {
    use serde_json::json;
    let (max_i, min_i, max_u) = (i64::MAX, i64::MIN, u64::MAX);
    let attempt = json!({"attempt":1,"broker":"broker-a","addr":"127.0.0.1:1","queue":i32::MIN,"opaque":i32::MAX,
        "t_ns":min_i,"budget_ns":max_u,"timeout_ns":max_u,"latency_ns":max_u,"outcome":"timeout","code":i32::MIN,"isolated_ns":max_u});
    let send = |t: i64, sched: Option<i64>, status: &str| {
        let mut s = json!({"type":"send","send":1,"t_ns":t,"latency_ns":max_u,"service_latency_ns":max_u,"started_ms":min_i,
            "topic":"T","msg_id":"X","status":status,"broker":"broker-a","queue":1,"queue_offset":min_i,
            "attempts":[attempt.clone(), attempt.clone()]});
        if let Some(s2) = sched {
            s["scheduled_ns"] = json!(s2);
        }
        if status == "FAILED" {
            s["failure"] = json!("timeout");
        }
        s
    };
    let lines = [
        json!({"type":"run","v":1,"mqtui":"0","started_ms":min_i,"run":{"target":"t","topic":"T","java":"5.3.3","fault_table":"5.x",
            "fault_avoidance":true,"timeout_ms":max_u,"attempt_timeout_ms":max_u,"retries":u32::MAX,"load_model":"open","rate":1e308,
            "concurrency":usize::MAX,"shape":"stages 999999999h:1e15"}}),
        json!({"type":"route","t_ns":min_i,"topic":"T","brokers":["broker-a"],"queues":max_u}),
        json!({"type":"settings","t_ns":min_i,"rate":1e308,"concurrency":usize::MAX,"paused":false,"model":"open","shape":"burst 99999999999 every 0ms"}),
        send(max_i, None, "SEND_OK"),
        send(min_i, Some(min_i), "FAILED"),
        send(0, Some(max_i), "SEND_OK"),
        json!({"type":"fault","t_ns":max_i,"broker":"broker-a","latency_ns":max_u,"window_ns":max_u,"reachable":true}),
        json!({"type":"fault","t_ns":min_i,"broker":"broker-a","latency_ns":max_u,"window_ns":max_u,"reachable":false}),
        json!({"type":"settings","t_ns":max_i,"rate":-1.0,"concurrency":0,"paused":true,"model":"x","shape":"stages 1s:1"}),
        json!({"type":"injection","t_ns":min_i,"broker":"broker-a","fault":"x"}),
        json!({"type":"lagged","t_ns":0,"missed":max_u}),
        json!({"type":"end","t_ns":max_i,"elapsed_ns":max_u,"not_started":max_u,"name_server_lookups":max_u}),
    ];
    let file = std::env::temp_dir().join(format!("mqtui-extreme-{}.jsonl", std::process::id()));
    std::fs::write(&file, lines.iter().map(|l| l.to_string() + "\n").collect::<String>()).unwrap();
    for format in ["text", "markdown", "csv", "json", "html"] {
        let o = mqtui().args(["report", "--format", format]).arg(&file).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{format}: {err}");
        assert!(!err.contains("panic") && !o.stdout.is_empty(), "{format}: {err}");
    }
    let o = mqtui().arg("compare").arg(&file).arg(&file).output().unwrap();
    assert!(matches!(o.status.code(), Some(0 | 4)), "{}", String::from_utf8_lossy(&o.stderr));
    let mut player =
        mqtui::ui::replay::Player::open(&file, tokio::time::Instant::now(), mqtui::ui::theme::Theme::dark()).unwrap();
    let mut app = player.fresh();
    for secs in [0u64, 1, 1 << 20, u64::MAX / 2, 3] {
        player.seek(&mut app, Duration::from_secs(secs));
        for (w, h) in [(80, 24), (200, 60)] {
            let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
            t.draw(|f| mqtui::ui::render(f, &app)).unwrap();
        }
    }
    let _ = std::fs::remove_file(&file);
}

/// A run's length is the time it took, whatever its schedule: at a rate far past what the
/// cluster takes (the open model's sends all late on their slots), `elapsed_s` is at most the
/// wall time, not the wall time plus the lag.
#[test]
fn elapsed_is_the_wall_time_at_any_rate() {
    for args in [&["--rate", "10000000"][..], &["--stages", "2s:5000000"][..]] {
        let t0 = Instant::now();
        let o = mqtui().args(["produce", "--count", "50000", "--output", "json"]).args(args).output().unwrap();
        let wall = t0.elapsed().as_secs_f64();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let elapsed = summary["elapsed_s"].as_f64().unwrap();
        assert!(elapsed <= wall, "{args:?}: elapsed_s {elapsed} over the wall time {wall:.3} s");
        assert!(summary["behind_schedule"].as_u64().unwrap() > 0, "{summary}");
    }
}
