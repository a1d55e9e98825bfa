//! `--record`, `mqtui report` and `mqtui compare`, read as their spec: a recorded run reports
//! offline the summary it printed live, in every format; two recordings compare with the size
//! of each change and exit 4 on a regression; a file that is not a recording, or one cut short,
//! is said so. The html report is opened in a real headless browser (Chromium) when one is
//! installed (scripts/test installs it in CI).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mqtui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(args)
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .env_remove("MQTUI_NAMESRV")
        .output()
        .expect("run mqtui")
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("mqtui-record-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

/// Records a 2 s run at 200/s on two demo brokers under `scenario` (TOML); returns the live
/// summary.
fn record(scenario: &str, file: &Path) -> serde_json::Value {
    let sc = file.with_extension("scenario.toml");
    std::fs::write(&sc, scenario).unwrap();
    let o = mqtui(&[
        "produce",
        "--brokers",
        "2",
        "--scenario",
        sc.to_str().unwrap(),
        "--rate",
        "200",
        "--duration",
        "2",
        "--record",
        file.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    json(&o)
}

/// broker-b down at 0.5 s, and thresholds that the run passes (a recording keeps them, and its
/// report measures them again).
const B_DOWN: &str = "[[step]]\nat = 0.5\nbroker = \"broker-b\"\ndown = true\n\
                      [[threshold]]\nexpr = \"sent>10\"\n[[threshold]]\nexpr = \"p99<60s\"\n";

#[test]
fn a_recorded_run_reports_offline_the_summary_it_printed_live() {
    let d = dir();
    for name in ["down.jsonl", "down.jsonl.zst"] {
        let file = d.join(name);
        let live = record(B_DOWN, &file);
        if name.ends_with(".zst") {
            let head = std::fs::read(&file).unwrap();
            assert_eq!(&head[..4], &[0x28, 0xb5, 0x2f, 0xfd], "a .zst name is zstd-compressed");
        } else {
            let text = std::fs::read_to_string(&file).unwrap();
            let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
            assert_eq!((first["type"].as_str(), first["v"].as_u64()), (Some("run"), Some(1)));
            let kinds: std::collections::BTreeSet<String> = text
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["type"].as_str().unwrap().to_string())
                .collect();
            for k in ["run", "route", "settings", "send", "fault", "injection", "end"] {
                assert!(kinds.contains(k), "a {k} line in {kinds:?}");
            }
        }
        let o = mqtui(&["report", file.to_str().unwrap(), "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let offline = &json(&o)[0]["summary"];
        for k in [
            "sent",
            "ok",
            "failed",
            "attempts",
            "retries",
            "elapsed_s",
            "tps",
            "latency_ms",
            "service_latency_ms",
            "behind_schedule",
            "max_lag_ms",
            "not_started",
            "statuses",
            "run",
            "thresholds",
        ] {
            assert_eq!(offline[k], live[k], "{name}: {k}: offline {} live {}", offline[k], live[k]);
        }
        assert!(live["retries"].as_u64().unwrap() >= 1, "broker-b went down under load: {live}");
        assert_eq!(live["run"]["thresholds"], serde_json::json!(["sent>10", "p99<60s"]), "{live}");
        assert_eq!(live["thresholds"].as_array().map(Vec::len), Some(2), "{live}");
        let brokers = |s: &serde_json::Value| s["brokers"].as_array().unwrap().clone();
        for (a, b) in brokers(offline).iter().zip(brokers(&live)) {
            for k in ["name", "attempts", "ok", "failed", "isolations", "retried_away", "retried_onto", "latency_ms"] {
                assert_eq!(a[k], b[k], "{name}: broker {}: {k}", b["name"]);
            }
            let (x, y) = (a["isolated_ms"].as_i64().unwrap(), b["isolated_ms"].as_i64().unwrap());
            assert!((x - y).abs() <= 1, "{name}: isolated {x} ms offline, {y} ms live");
        }
    }
}

#[test]
fn report_writes_every_format_and_the_html_draws_in_a_browser() {
    let d = dir();
    let (a, b) = (d.join("fmt-a.jsonl"), d.join("fmt-b.jsonl.zst"));
    record(B_DOWN, &a);
    record("", &b);
    let files = [a.to_str().unwrap(), b.to_str().unwrap()];
    let report = |format: &str| {
        let mut args = vec!["report"];
        args.extend(files);
        args.extend(["--format", format]);
        let o = mqtui(&args);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let text = report("text");
    for want in [
        "recording ",
        "latency histogram",
        "isolations (the fault strategy kept the broker out)",
        "broker-b",
        "faults injected",
        "down",
    ] {
        assert!(text.contains(want), "text: {want:?} in\n{text}");
    }
    let md = report("markdown");
    assert_eq!(md.matches("## mqtui run").count(), 2, "{md}");
    assert!(md.contains("| sent | ok | failed |") && md.contains("| broker-b |"), "{md}");
    assert!(md.contains("**Thresholds**") && md.contains("- PASS p99<60s  (measured "), "{md}");
    let csv = report("csv");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 1 + 2 * 3, "a header, and per run a row and one per broker: {csv}");
    assert!(rows.iter().all(|r| r.split(',').count() == rows[0].split(',').count()), "{csv}");
    let j: serde_json::Value = serde_json::from_str(&report("json")).unwrap();
    let runs = j.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs[0]["isolations"].as_array().unwrap().iter().any(|i| i["broker"] == "broker-b"), "{}", runs[0]);
    assert_eq!(runs[1]["isolations"].as_array().unwrap().len(), 0, "the healthy run isolated nothing");
    let counts: u64 = runs[0]["histograms"][0]["counts"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).sum();
    assert_eq!(counts, runs[0]["summary"]["sent"].as_u64().unwrap() - runs[0]["summary"]["oneway"].as_u64().unwrap());

    let html = d.join("report.html");
    let mut args = vec!["report"];
    args.extend(files);
    args.extend(["--format", "html", "-o", html.to_str().unwrap()]);
    assert_eq!(mqtui(&args).status.code(), Some(0));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<svg"), "{page}");
    assert!(!page.contains("src=\"http") && !page.contains("href=\"http"), "self-contained: nothing fetched");
    match chromium() {
        Some(browser) => {
            let o = Command::new(&browser)
                .args(["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000", "--dump-dom"])
                .arg(format!("file://{}", html.display()))
                .output()
                .expect("run chromium");
            let dom = String::from_utf8_lossy(&o.stdout);
            let rendered = dom.split("data-rendered=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("");
            eprintln!("chromium: data-rendered={rendered:?}");
            let drawn = |chart: &str| {
                rendered
                    .split(' ')
                    .find_map(|kv| kv.strip_prefix(&format!("{chart}:")))
                    .and_then(|n| n.parse::<u32>().ok())
            };
            assert!(drawn("throughput").is_some_and(|n| n >= 4), "throughput bars drawn: {rendered:?}");
            assert!(drawn("histogram").is_some_and(|n| n >= 2), "histogram bars drawn: {rendered:?}");
            assert!(drawn("isolations").is_some_and(|n| n >= 1), "broker-b's window drawn: {rendered:?}");
        }
        None if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI: chromium not found (scripts/test installs it)")
        }
        None => eprintln!("chromium not found: the html report is not opened in a browser"),
    }
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

#[test]
fn compare_sizes_each_change_and_exits_4_on_a_regression() {
    let d = dir();
    let (healthy, slow) = (d.join("cmp-healthy.jsonl"), d.join("cmp-slow.jsonl"));
    record("", &healthy);
    // Both brokers 200 ms slower: far past anything a loaded machine adds to the healthy run.
    record(
        "[[step]]\nat = 0\nbroker = \"broker-a\"\nlatency_ms = 200\n[[step]]\nat = 0\nbroker = \"broker-b\"\nlatency_ms = 200\n",
        &slow,
    );
    let (h, s) = (healthy.to_str().unwrap(), slow.to_str().unwrap());

    let o = mqtui(&["compare", h, h, "--max-regression", "0%"]);
    assert_eq!(o.status.code(), Some(0), "a run against itself: {}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no regression beyond 0%"));

    let o = mqtui(&["compare", h, s, "--max-regression", "10%", "--format", "json"]);
    assert_eq!(o.status.code(), Some(4), "{}", String::from_utf8_lossy(&o.stdout));
    let c = json(&o);
    assert_eq!(c["regressed"], true);
    let delta = |m: &str| c["deltas"].as_array().unwrap().iter().find(|d| d["metric"] == m).unwrap().clone();
    let p50 = delta("p50_ms");
    assert_eq!((p50["worse"].as_bool(), p50["regressed"].as_bool()), (Some(true), Some(true)), "{p50}");
    assert!(p50["new"].as_f64().unwrap() >= 200.0 && p50["change_pct"].as_f64().unwrap() > 10.0, "{p50}");
    assert!(delta("p99_ms")["new"].as_f64().unwrap() >= 200.0);
    assert_eq!(delta("broker-a.p50_ms")["worse"], true);
    assert_eq!(delta("broker-a.p50_ms")["gated"], false);

    // The other way round the new run is faster: better, and no regression.
    let o = mqtui(&["compare", s, h, "--max-regression", "10%"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.lines().any(|l| l.starts_with("p50_ms") && l.ends_with("better")), "{text}");
    // Without --max-regression nothing is gated: exit 0 whatever changed.
    assert_eq!(mqtui(&["compare", h, s]).status.code(), Some(0));
    assert_eq!(mqtui(&["compare", h, s, "--max-regression", "ten"]).status.code(), Some(2));
}

#[test]
fn what_is_not_a_recording_is_refused_and_a_cut_one_reported_with_a_warning() {
    let d = dir();
    let o = mqtui(&["report", d.join("missing.jsonl").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.jsonl"), "the error names the file");
    let not = d.join("not.jsonl");
    std::fs::write(&not, "{\"type\":\"summary\",\"v\":1}\n").unwrap();
    let o = mqtui(&["report", not.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not an mqtui recording"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let newer = d.join("newer.jsonl");
    std::fs::write(&newer, "{\"type\":\"run\",\"v\":9,\"mqtui\":\"9\",\"started_ms\":0,\"run\":{}}\n").unwrap();
    assert_eq!(mqtui(&["report", newer.to_str().unwrap()]).status.code(), Some(3));

    // A run killed while writing: its lines up to the cut stand.
    let full = d.join("full.jsonl");
    let live = record("", &full);
    let text = std::fs::read_to_string(&full).unwrap();
    let cut = d.join("cut.jsonl");
    // In the middle of a line two thirds in.
    let at = text[..text.len() * 2 / 3].rfind('\n').unwrap() + 10;
    std::fs::write(&cut, &text[..at]).unwrap();
    let o = mqtui(&["report", cut.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cut short") && err.contains("no end line"), "{err}");
    let sent = json(&o)[0]["summary"]["sent"].as_u64().unwrap();
    assert!(sent > 0 && sent < live["sent"].as_u64().unwrap(), "{sent} of {}", live["sent"]);
}
