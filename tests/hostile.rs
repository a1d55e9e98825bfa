//! mqtui against peers that misbehave on purpose (written in tests/common/hostile.rs): every
//! send ends in exactly one outcome, the run ends within its timeout, nothing panics, memory
//! stays under a bound, and the error says which peer and what. Then `mqtui cluster` against
//! hostile clients: frames announced and never sent, idle connections past the cap, garbage.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::hostile::{broker, frame, mqtui, name_server, response, route_to, send_ok, Peer, Run};

/// Peak memory a `mqtui produce` of a few sends may reach whatever its peers do (a healthy run
/// of 20 sends peaks near 15 MB).
const PRODUCE_MB: f64 = 96.0;

fn produce(ns: &str, count: u32, extra: &[&str]) -> Run {
    let count = count.to_string();
    let mut args = vec![
        "produce",
        "--namesrv",
        ns,
        "--topic",
        "T",
        "--count",
        &count,
        "--output",
        "jsonl",
        "--timeout-ms",
        "1000",
    ];
    args.extend_from_slice(extra);
    mqtui(&args, Duration::from_secs(30))
}

/// One `result` line per send, each send once.
fn one_outcome_each(r: &Run, count: u64, what: &str) -> Vec<serde_json::Value> {
    let results = r.lines("result");
    let mut ids: Vec<u64> = results.iter().map(|v| v["send"].as_u64().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (results.len() as u64, ids.len() as u64),
        (count, count),
        "{what}: one outcome per send\n{}\n{}",
        r.stdout,
        r.stderr
    );
    let summary = r.lines("summary");
    assert_eq!(summary.len(), 1, "{what}: the summary");
    assert_eq!(summary[0]["sent"].as_u64(), Some(count), "{what}");
    results
}

fn bounded(r: &Run, mb: f64, what: &str) {
    r.assert_no_panic(what);
    assert!(r.peak_mb < mb, "{what}: peak memory {:.0} MB, over {mb} MB", r.peak_mb);
    eprintln!("{what}: exit {:?}, {:.1} MB peak, {:?}", r.code, r.peak_mb, r.took);
}

/// A name server routing to a healthy broker, with its route's first answer replaced by `route`.
fn ns_with_route(route: Vec<u8>) -> Peer {
    Peer::start(name_server(route))
}

#[test]
fn absurd_counts_in_a_route_are_refused_naming_the_peer_and_the_field() {
    let b = Peer::start(broker(|s, _, opaque| s.write_all(&send_ok(opaque)).is_ok()));
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "writeQueueNums 2^31-1",
            route_to(&b.addr).replace(r#""writeQueueNums":4"#, r#""writeQueueNums":2147483647"#),
            "writeQueueNums 2147483647",
        ),
        (
            "orderTopicConf 2^31-1",
            route_to(&b.addr).replacen('{', r#"{"orderTopicConf":"broker-h:2147483647","#, 1),
            "orderTopicConf",
        ),
        ("100,000 empty brokers", format!(r#"{{"brokerDatas":[{}]}}"#, vec!["{}"; 100_000].join(",")), "brokerDatas"),
        (
            "100,000 addresses",
            format!(
                r#"{{"brokerDatas":[{{"brokerName":"b","brokerAddrs":{{{}}}}}]}}"#,
                (0..100_000).map(|i| format!(r#""{i}":"a""#)).collect::<Vec<_>>().join(",")
            ),
            "brokerAddrs",
        ),
    ];
    let mut cases: Vec<(&str, Vec<u8>, &str)> = cases.into_iter().map(|(w, r, f)| (w, r.into_bytes(), f)).collect();
    cases.push(("a route that is not UTF-8", b"{\"brokerDatas\":[\xFF\xFE]}".to_vec(), "route"));
    for (what, bytes, field) in cases {
        let ns = ns_with_route(bytes);
        let r = produce(&ns.addr, 5, &[]);
        bounded(&r, PRODUCE_MB, what);
        assert_eq!(r.code, Some(3), "{what}: cannot start\n{}", r.stderr);
        assert!(
            r.stderr.contains(&ns.addr) && r.stderr.contains(field),
            "{what}: names the peer and {field}: {}",
            r.stderr
        );
    }
}

/// Name servers that misbehave on the wire: the lookup fails (exit 3) or succeeds, within its
/// timeout, in bounded memory.
#[test]
fn a_name_server_that_misbehaves_on_the_wire_ends_the_lookup_in_time() {
    let b = Peer::start(broker(|s, _, opaque| s.write_all(&send_ok(opaque)).is_ok()));
    let route = Arc::new(route_to(&b.addr).into_bytes());
    type Behaviour = Box<dyn Fn(&mut TcpStream, i32) -> bool + Send + Sync>;
    let r2 = route.clone();
    let r3 = route.clone();
    let r4 = route.clone();
    let cases: Vec<(&str, Behaviour, Option<i32>)> = vec![
        // 16 MiB announced, 10 bytes sent, the connection held open.
        (
            "a frame announced and never sent",
            Box::new(|s, _| {
                let _ = s.write_all(&[0, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2, b'{', b'"']);
                std::thread::sleep(Duration::from_secs(20));
                false
            }),
            Some(3),
        ),
        (
            "garbage",
            Box::new(|s, _| {
                let _ = s.write_all(&[0x47; 4096]);
                std::thread::sleep(Duration::from_secs(1));
                false
            }),
            Some(3),
        ),
        (
            "a frame length of 2 GiB",
            Box::new(|s, _| {
                let _ = s.write_all(&[0x7F, 0xFF, 0xFF, 0xFF, 0, 0]);
                std::thread::sleep(Duration::from_secs(1));
                false
            }),
            Some(3),
        ),
        (
            "every reply twice",
            Box::new(move |s, opaque| {
                let f = frame(&response(0, opaque, "", None), &r2);
                s.write_all(&f).is_ok() && s.write_all(&f).is_ok()
            }),
            Some(0),
        ),
        (
            "a reply after the timeout",
            Box::new(move |s, opaque| {
                std::thread::sleep(Duration::from_millis(3500));
                s.write_all(&frame(&response(0, opaque, "", None), &r3)).is_ok()
            }),
            Some(3),
        ),
        (
            "a reply one byte every 20 ms",
            Box::new(move |s, opaque| {
                for b in frame(&response(0, opaque, "", None), &r4) {
                    if s.write_all(&[b]).is_err() {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                true
            }),
            None,
        ),
        (
            "a flood of requests of its own, then the route",
            Box::new(move |s, opaque| {
                // 20,000 requests for the client (code 39, GET_CONSUMER_RUNNING_INFO-like).
                let mut flood = Vec::new();
                for i in 0..20_000 {
                    let h = format!(
                        r#"{{"code":307,"flag":0,"language":"JAVA","opaque":{},"version":453}}"#,
                        1_000_000 + i
                    );
                    flood.extend_from_slice(&frame(h.as_bytes(), b""));
                }
                s.write_all(&flood).is_ok() && s.write_all(&frame(&response(0, opaque, "", None), &route)).is_ok()
            }),
            Some(0),
        ),
    ];
    for (what, behave, code) in cases {
        let behave = Arc::new(behave);
        let ns = Peer::start(Arc::new(move |mut s: TcpStream| {
            while let Some((_, opaque, _)) = common::hostile::read_request(&mut s) {
                if !behave(&mut s, opaque) {
                    return;
                }
            }
        }));
        let started = Instant::now();
        let r = produce(&ns.addr, 5, &[]);
        bounded(&r, PRODUCE_MB, what);
        if let Some(c) = code {
            assert_eq!(r.code, Some(c), "{what}\n{}", r.stderr);
        }
        if r.code == Some(0) {
            one_outcome_each(&r, 5, what);
        } else {
            assert!(r.stderr.contains("mqtui: "), "{what}: a clear error: {}", r.stderr);
        }
        assert!(started.elapsed() < Duration::from_secs(15), "{what}: took {:?}", started.elapsed());
    }
}

/// Brokers that misbehave: each send still ends once, as Java's async send ends it.
#[test]
fn a_broker_that_misbehaves_gets_one_outcome_per_send() {
    type Answer = Box<dyn Fn(&mut TcpStream, i32, i32) -> bool + Send + Sync>;
    let cases: Vec<(&str, Answer)> = vec![
        (
            "every reply twice",
            Box::new(|s, _, o| {
                let f = send_ok(o);
                s.write_all(&f).is_ok() && s.write_all(&f).is_ok()
            }),
        ),
        (
            "replies after the timeout",
            Box::new(|s, _, o| {
                std::thread::sleep(Duration::from_millis(2500));
                s.write_all(&send_ok(o)).is_ok()
            }),
        ),
        (
            "replies for other opaques only",
            Box::new(|s, _, o| s.write_all(&send_ok(o.wrapping_add(7_000_000))).is_ok()),
        ),
        (
            "a frame announced and never sent",
            Box::new(|s, _, _| {
                let _ = s.write_all(&[0, 0xFF, 0xFF, 0xF0, 0, 0, 0, 2, b'{']);
                std::thread::sleep(Duration::from_secs(10));
                false
            }),
        ),
        (
            "garbage",
            Box::new(|s, _, _| s.write_all(&[0x00, 0x00, 0x00, 0x10, 0x07, 1, 2, 3, 4, 5, 6, 7, 8, 9]).is_ok()),
        ),
        (
            "absurd header values",
            Box::new(|s, _, o| {
                let long = "9".repeat(100_000);
                let ext = format!(
                    r#""msgId":"{long}","queueId":"99999999999999999999","queueOffset":"-9223372036854775808","transactionId":"\u0000\u0001""#
                );
                s.write_all(&frame(&response(0, o, &ext, None), b"")).is_ok()
            }),
        ),
        (
            "a flood of requests of its own between replies",
            Box::new(|s, _, o| {
                let mut flood = Vec::new();
                for i in 0..2_000 {
                    let h =
                        format!(r#"{{"code":39,"flag":0,"language":"JAVA","opaque":{},"version":453}}"#, 2_000_000 + i);
                    flood.extend_from_slice(&frame(h.as_bytes(), b""));
                }
                s.write_all(&flood).is_ok() && s.write_all(&send_ok(o)).is_ok()
            }),
        ),
        (
            "each reply one byte every 10 ms",
            Box::new(|s, _, o| {
                for b in send_ok(o) {
                    if s.write_all(&[b]).is_err() {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                true
            }),
        ),
    ];
    for (what, answer) in cases {
        let b = Peer::start(broker(answer));
        let ns = ns_with_route(route_to(&b.addr).into_bytes());
        let started = Instant::now();
        let r = produce(&ns.addr, 20, &["--concurrency", "8"]);
        bounded(&r, PRODUCE_MB, what);
        assert!(matches!(r.code, Some(0 | 1)), "{what}: exit {:?}\n{}", r.code, r.stderr);
        one_outcome_each(&r, 20, what);
        // 20 sends of 1 s at most each, 8 at a time: well under 15 s whatever the broker does.
        assert!(started.elapsed() < Duration::from_secs(15), "{what}: took {:?}", started.elapsed());
    }
}

/// A broker error whose remark is not UTF-8 stays a broker error (Java reads the remark as
/// `new String(bytes, UTF_8)`): one attempt, not retried, the remark shown with U+FFFD.
#[test]
fn an_error_remark_that_is_not_utf8_is_a_broker_error_not_retried() {
    let b = Peer::start(broker(|s, code, o| {
        let reply = if code == 310 || code == 10 {
            frame(&response(1, o, "", Some(b"disk caf\xE9 full")), b"")
        } else {
            frame(&response(0, o, "", None), b"")
        };
        s.write_all(&reply).is_ok()
    }));
    let ns = ns_with_route(route_to(&b.addr).into_bytes());
    let r = produce(&ns.addr, 10, &[]);
    bounded(&r, PRODUCE_MB, "a remark not in UTF-8");
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    for v in one_outcome_each(&r, 10, "a remark not in UTF-8") {
        assert_eq!(v["status"], "FAILED");
        assert_eq!(v["attempts"], 1, "a broker error is not retried: {v}");
        let e = v["error"].as_str().unwrap_or_default();
        assert!(e.contains("disk caf\u{FFFD} full"), "{e}");
    }
}

/// `mqtui cluster`'s servers under hostile clients.
#[test]
fn the_demo_cluster_bounds_what_hostile_clients_hold() {
    let (mut cluster, mut out, ns) = common::demo::start_cluster_with(
        "mqtui-test-hostile",
        &["--max-connections", "300", "--frame-timeout-ms", "1000", "--idle-timeout-s", "3"],
    );
    let pid = cluster.id();
    let rss = || peak_and_now(pid);
    let (_, base) = rss();
    // 50 connections that announce 16 MiB frames and send 10 bytes of each.
    let mut stalled: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut s = TcpStream::connect(&ns).unwrap();
            s.write_all(&[0, 0xFF, 0xFF, 0xF0, 0, 0, 0, 2, b'{', b'"']).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (_, with_stalled) = rss();
    assert!(with_stalled - base < 20.0, "50 stalled 16 MiB frames hold {:.1} MB", with_stalled - base);
    // Each is closed at its frame timeout (1 s; noticed within 1.25 s).
    for s in &mut stalled {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut b = [0u8; 1];
        let t0 = Instant::now();
        assert!(matches!(s.read(&mut b), Ok(0) | Err(_)), "closed");
        assert!(t0.elapsed() < Duration::from_secs(3));
    }
    // 600 idle connections against a cap of 300: the rest are closed when accepted.
    let idle: Vec<TcpStream> = (0..600).filter_map(|_| TcpStream::connect(&ns).ok()).collect();
    std::thread::sleep(Duration::from_millis(500));
    let mut closed = 0;
    for s in &idle {
        s.set_nonblocking(true).unwrap();
        let mut b = [0u8; 1];
        if matches!((&*s).read(&mut b), Ok(0)) {
            closed += 1;
        }
    }
    assert!(closed >= 290, "{closed} of 600 closed at the cap of 300");
    let (_, with_idle) = rss();
    assert!(with_idle - base < 40.0, "300 idle connections hold {:.1} MB", with_idle - base);
    // A client that sends and never reads its replies: slowed (its replies fill their queue,
    // then its requests wait), then closed once the server's writes stall for the frame timeout.
    let mut flood = TcpStream::connect(&ns).unwrap();
    let heartbeat = frame(
        br#"{"code":34,"flag":0,"language":"JAVA","opaque":1,"version":453,"serializeTypeCurrentRPC":"JSON"}"#,
        b"",
    );
    let writer = std::thread::spawn(move || {
        let t0 = Instant::now();
        let chunk: Vec<u8> = heartbeat.iter().copied().cycle().take(heartbeat.len() * 1000).collect();
        flood.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
        for _ in 0..400 {
            if flood.write_all(&chunk).is_err() {
                return Some(t0.elapsed());
            }
        }
        None
    });
    let closed_after = writer.join().unwrap();
    let (_, with_flood) = rss();
    assert!(closed_after.is_some_and(|d| d < Duration::from_secs(15)), "the server never closed it: {closed_after:?}");
    assert!(with_flood - base < 40.0, "a client that reads nothing holds {:.1} MB", with_flood - base);
    // Garbage closes only its own connection.
    let mut g = TcpStream::connect(&ns).unwrap();
    let _ = g.write_all(&[0x16, 0x03, 0x01, 0xFF, 0xFF, 9, 9, 9]);
    // After the idle timeout the slots are free again: a real run goes through.
    std::thread::sleep(Duration::from_millis(3500));
    drop(idle);
    let r = mqtui(&["produce", "--namesrv", &ns, "--count", "50", "--output", "json"], Duration::from_secs(30));
    r.assert_no_panic("produce after the hostile clients");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let (peak, _) = rss();
    eprintln!("cluster: {base:.1} MB at the start, peak {peak:.1} MB");
    assert!(peak < base + 64.0, "peak {peak:.1} MB from {base:.1} MB");
    common::demo::stop_cluster(&mut cluster, &mut out);
}

/// (VmHWM, VmRSS) of a running process, MB.
fn peak_and_now(pid: u32) -> (f64, f64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (kb("VmHWM:"), kb("VmRSS:"))
}

/// A broker that accepts and reads nothing: requests of 1 MiB each are refused at once past
/// 64 MiB queued unwritten (not held for ever), and each ends: refused, or timed out.
#[tokio::test]
async fn a_peer_that_reads_nothing_holds_at_most_64_mib_of_requests() {
    use mqtui::remoting::{Connection, ExtFields, InvokeError, RemotingCommand};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let hold = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        std::thread::sleep(Duration::from_secs(3));
        drop(s);
    });
    let conn = Connection::connect(&addr, Duration::from_secs(2)).await.unwrap();
    let body = bytes::Bytes::from(vec![7u8; 1 << 20]);
    let sends = (0..200).map(|_| {
        let c = conn.clone();
        let req = RemotingCommand::request(310, ExtFields::new()).with_body(body.clone());
        async move { c.invoke(req, Duration::from_secs(2)).await }
    });
    let results = futures::future::join_all(sends).await;
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(InvokeError::SendRequestFailed(m)) if m.contains("64 MiB of requests queued")))
        .count();
    let timed_out = results.iter().filter(|r| matches!(r, Err(InvokeError::Timeout(_)))).count();
    assert_eq!(refused + timed_out, 200, "{results:?}");
    assert!(refused >= 100, "{refused} refused, {timed_out} timed out");
    hold.join().unwrap();
}
