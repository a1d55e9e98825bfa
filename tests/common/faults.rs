//! `mqtui produce` against a real cluster misbehaving for real: a broker stopped (SIGSTOP) and
//! resumed, killed and restarted, stopped gracefully (SIGTERM) and restarted, the name server
//! stopped. One scenario, run against rocketmq-rust's cluster (tests/peer_faults.rs) and Apache
//! RocketMQ's (tests/apache_faults.rs), with the same expectations.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running cluster of a name server ("namesrv") and brokers broker-a, broker-b.
pub trait RealCluster {
    fn kind(&self) -> &'static str;
    fn namesrv(&self) -> &str;
    /// The pid of "namesrv", "broker-a", ...
    fn pid(&self, name: &str) -> String;
    fn signal(&self, name: &str, sig: &str) {
        let pid = self.pid(name);
        assert!(Command::new("kill").args([sig, &pid]).status().unwrap().success(), "kill {sig} {name}");
    }
    /// Starts a stopped or killed broker again and waits until it serves.
    fn restart(&self, name: &str);
    /// Seconds a restart takes beyond rocketmq-rust's (a JVM's start).
    fn restart_secs(&self) -> u32 {
        0
    }
    /// Whether the graceful stop step runs.
    fn graceful_stop(&self) -> bool {
        false
    }
    /// Waits until the process is gone.
    fn wait_gone(&self, name: &str, max: Duration) {
        let pid = self.pid(name);
        let deadline = Instant::now() + max;
        while Command::new("kill").args(["-0", &pid]).stderr(Stdio::null()).status().unwrap().success() {
            assert!(Instant::now() < deadline, "{name} still running after {max:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn mqtui(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mqtui"));
    c.args(args).env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"));
    c
}

/// A running `mqtui produce`, its output read by threads as it comes.
struct Running {
    child: Child,
    out: std::thread::JoinHandle<Vec<u8>>,
    err: std::thread::JoinHandle<Vec<u8>>,
}

fn drain(mut r: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        v
    })
}

fn produce(peer: &dyn RealCluster, topic: &str, secs: u32, extra: &[&str]) -> Running {
    let mut child = spawn_produce(peer, topic, secs, extra);
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    Running { child, out, err }
}

fn spawn_produce(peer: &dyn RealCluster, topic: &str, secs: u32, extra: &[&str]) -> Child {
    let secs = secs.to_string();
    let mut args = vec!["produce", "--namesrv", peer.namesrv(), "--topic", topic, "--duration", &secs];
    args.extend_from_slice(&["--rate", "200", "--output", "jsonl"]);
    args.extend_from_slice(extra);
    mqtui(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

struct Run {
    lines: Vec<Value>,
    summary: Value,
    stderr: String,
    code: Option<i32>,
}

fn finish(mut r: Running) -> Run {
    let status = r.child.wait().unwrap();
    let stdout = r.out.join().unwrap();
    let stderr = r.err.join().unwrap();
    let lines: Vec<Value> =
        String::from_utf8_lossy(&stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let summary = lines.last().cloned().expect("a summary line");
    Run { lines, summary, stderr: String::from_utf8_lossy(&stderr).into_owned(), code: status.code() }
}

fn results(r: &Run) -> impl Iterator<Item = &Value> {
    r.lines.iter().filter(|l| l["type"] == "result")
}

fn trail(v: &Value) -> Vec<&str> {
    v["brokers"].as_array().unwrap().iter().map(|b| b.as_str().unwrap()).collect()
}

/// Sends whose first attempt went to `broker` and stored, after the last failed send.
fn used_again(r: &Run, broker: &str) -> usize {
    let last_failed = results(r)
        .filter(|v| v["status"] == "FAILED" || v["attempts"].as_u64().unwrap() > 1)
        .map(|v| v["send"].as_u64().unwrap())
        .max()
        .unwrap_or(0);
    results(r)
        .filter(|v| v["send"].as_u64().unwrap() > last_failed && trail(v) == [broker] && v["status"] == "SEND_OK")
        .count()
}

/// Each failed send's attempts and result, for a failure's message.
fn failed_sends(r: &Run) -> Vec<String> {
    let failed: Vec<u64> =
        results(r).filter(|v| v["status"] == "FAILED").map(|v| v["send"].as_u64().unwrap()).collect();
    r.lines.iter().filter(|l| failed.contains(&l["send"].as_u64().unwrap_or(0))).map(|l| l.to_string()).collect()
}

/// The failed sends' results, but for the ones a broker shed with SYSTEM_BUSY (2): a broker
/// error ends an async send without a retry, as in Java, and rocketmq-rust's brokers shed load
/// so now and then (most of all just after a restart). Says how many were shed.
fn failed_unshed<'a>(r: &'a Run, step: &str) -> Vec<&'a Value> {
    let shed = |send: &Value| {
        r.lines
            .iter()
            .rev()
            .find(|l| l["type"] == "attempt" && l["send"] == *send)
            .is_some_and(|a| a["outcome"] == "broker_error" && a["code"] == 2)
    };
    let failed: Vec<&Value> = results(r).filter(|v| v["status"] == "FAILED").collect();
    let unshed: Vec<&Value> = failed.iter().copied().filter(|v| !shed(&v["send"])).collect();
    if failed.len() > unshed.len() {
        println!("{step}: {} sends shed by SYSTEM_BUSY (broker errors are not retried)", failed.len() - unshed.len());
    }
    unshed
}

/// Asserts that no send failed but for SYSTEM_BUSY sheds ([`failed_unshed`]); any other
/// failure fails the step, with the failed sends' lines.
fn assert_none_failed(r: &Run, step: &str) {
    let unexplained = failed_unshed(r, step);
    assert!(unexplained.is_empty(), "{step}: failed sends: {:#?}\n{}", failed_sends(r), r.stderr);
}

/// The whole scenario, the steps one after another (they share the cluster; the name server
/// is stopped last).
pub fn a_real_cluster_misbehaving(peer: &dyn RealCluster) {
    // A topic on both brokers, in the route.
    let topic = format!("MqtuiFaults{}{}", peer.kind(), std::process::id());
    super::create_topic(peer.namesrv(), &topic);

    // 1. broker-b stopped (SIGSTOP) at 4 s, resumed at 10 s. Faithful timeouts: only the sends
    //    already in flight to it fail, each with its timeout; new sends go to broker-a; once its
    //    window has passed broker-b is used again.
    let child = produce(peer, &topic, 24, &[]);
    std::thread::sleep(Duration::from_secs(4));
    peer.signal("broker-b", "-STOP");
    std::thread::sleep(Duration::from_secs(6));
    peer.signal("broker-b", "-CONT");
    let r = finish(child);
    assert_eq!(r.code, Some(1), "some in-flight sends failed: {} {}", r.stderr, r.summary);
    let failed = failed_unshed(&r, "1. stopped");
    assert!(
        !failed.is_empty() && failed.len() <= 64,
        "only sends in flight (≤ 64) fail: {}: {:#?}",
        failed.len(),
        failed_sends(&r)
    );
    for f in &failed {
        assert_eq!(trail(f), ["broker-b"], "{f}");
        assert!(f["error"].as_str().unwrap().starts_with("wait response timeout"), "{f}");
        assert!(f["latency_ms"].as_f64().unwrap() >= 2900.0, "{f}");
    }
    assert!(r.lines.iter().any(|l| l["type"] == "fault" && l["broker"] == "broker-b" && l["isolated_ms"] == 10_000));
    assert!(used_again(&r, "broker-b") > 0, "broker-b is used again after its window");

    // 2. The same with --attempt-timeout-ms 1000: every send that hit broker-b is retried on
    //    broker-a within the budget; none fails.
    let child = produce(peer, &topic, 24, &["--attempt-timeout-ms", "1000"]);
    std::thread::sleep(Duration::from_secs(4));
    peer.signal("broker-b", "-STOP");
    std::thread::sleep(Duration::from_secs(6));
    peer.signal("broker-b", "-CONT");
    let r = finish(child);
    assert_none_failed(&r, "2. stopped, attempt timeout");
    let retried: Vec<&Value> = results(&r).filter(|v| v["attempts"].as_u64().unwrap() > 1).collect();
    assert!(!retried.is_empty());
    for v in &retried {
        assert_eq!(trail(v), ["broker-b", "broker-a"], "{v}");
        assert_eq!(v["status"], "SEND_OK");
    }
    assert!(r.lines.iter().any(|l| l["type"] == "attempt"
        && l["broker"] == "broker-b"
        && l["outcome"] == "timeout"
        && l["timeout_ms"] == 1000));
    assert!(used_again(&r, "broker-b") > 0);

    // 3. broker-b killed (SIGKILL) at 4 s and started again at 8 s: connections refused are
    //    retried on broker-a; nothing fails; broker-b is used again after its window.
    let child = produce(peer, &topic, 22 + peer.restart_secs(), &[]);
    std::thread::sleep(Duration::from_secs(4));
    peer.signal("broker-b", "-KILL");
    std::thread::sleep(Duration::from_secs(4));
    peer.restart("broker-b");
    let r = finish(child);
    assert_none_failed(&r, "3. killed and restarted");
    assert!(r.summary["retries"].as_u64().unwrap() > 0);
    assert!(r.lines.iter().any(|l| l["type"] == "attempt"
        && l["broker"] == "broker-b"
        && (l["outcome"] == "send_failed" || l["outcome"] == "unknown")));
    assert!(used_again(&r, "broker-b") > 0, "broker-b used again after the restart");

    // 4. broker-b stopped gracefully (SIGTERM) at 4 s while sends go on, started again once it
    //    has gone: whatever it says while it shuts down (GO_AWAY, closed connections, errors) ends
    //    each send exactly once, none hangs, and with --attempt-timeout-ms none is lost.
    //    How long the shutdown and the JVM's restart take varies (over 20 s seen on a loaded CI
    //    machine), so the run is not of a fixed length: it goes on until broker-b is back and
    //    its 10 s window has had time to end (13 s), then stops as Ctrl-C stops it. A broker that
    //    stops gracefully unregisters, so a route refresh while it is away drops it until the
    //    next one (pollNameServerInterval, 30 s, as in Java): routes are refreshed every second.
    if peer.graceful_stop() {
        let child = produce(peer, &topic, 300, &["--attempt-timeout-ms", "1000", "--route-refresh-ms", "1000"]);
        std::thread::sleep(Duration::from_secs(4));
        peer.signal("broker-b", "-TERM");
        peer.wait_gone("broker-b", Duration::from_secs(30));
        peer.restart("broker-b");
        std::thread::sleep(Duration::from_secs(13));
        let interrupted = Instant::now();
        let pid = child.child.id().to_string();
        assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
        let r = finish(child);
        assert!(interrupted.elapsed() < Duration::from_secs(10), "the run ended in time after Ctrl-C");
        assert_none_failed(&r, "4. graceful stop");
        let sent = r.summary["sent"].as_u64().unwrap();
        assert_eq!(results(&r).count() as u64, sent, "one result per send");
        let failed_b: Vec<&Value> = r
            .lines
            .iter()
            .filter(|l| l["type"] == "attempt" && l["broker"] == "broker-b" && l["outcome"] != "ok")
            .collect();
        // A broker that stops gracefully unregisters first; with routes refreshed every second
        // the producer may drop it from the route before any send meets its shutdown. Either
        // way its going shows: as failed attempts, or as a gap in its attempts while sends went
        // on elsewhere.
        let mut b_starts: Vec<i64> = r
            .lines
            .iter()
            .filter(|l| l["type"] == "attempt" && l["broker"] == "broker-b")
            .map(|l| l["start_ms"].as_i64().unwrap())
            .collect();
        b_starts.sort_unstable();
        let gap_b = b_starts.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
        assert!(
            !failed_b.is_empty() || gap_b >= 3000,
            "broker-b's shutdown shows in its attempts (failed attempts, or a gap of 3 s; longest gap {gap_b} ms)"
        );
        for a in &failed_b {
            assert!(a["error"].as_str().is_some_and(|e| !e.is_empty()), "each failed attempt says why: {a}");
        }
        println!(
            "graceful stop: {} failed attempts on broker-b, outcomes {:?}, longest gap {gap_b} ms",
            failed_b.len(),
            failed_b.iter().map(|a| a["outcome"].as_str().unwrap()).collect::<std::collections::BTreeSet<_>>()
        );
        assert!(failed_b.is_empty() || r.summary["retries"].as_u64().unwrap() > 0);
        let last_b: Vec<String> = r
            .lines
            .iter()
            .filter(|l| l["type"] == "attempt" && l["broker"] == "broker-b")
            .rev()
            .take(6)
            .map(|l| l.to_string())
            .collect();
        assert!(
            used_again(&r, "broker-b") > 0,
            "broker-b used again after the restart; its last attempts: {last_b:#?}"
        );
    }

    // 5. The name server stopped at 3 s: sends go on with the cached route, and the warning says so.
    let child = produce(peer, &topic, 10, &["--route-refresh-ms", "1000"]);
    std::thread::sleep(Duration::from_secs(3));
    peer.signal("namesrv", "-TERM");
    let r = finish(child);
    assert_none_failed(&r, "5. name server stopped");
    assert!(r.summary["sent"].as_u64().unwrap() > 1500);
    assert!(
        r.stderr.contains("warning: route refresh for")
            && r.stderr.contains("sending with the cached route")
            && r.stderr.contains("no name server reachable"),
        "{}",
        r.stderr
    );
}
