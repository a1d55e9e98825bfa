//! Hostile peers, written here: a name server and a broker on loopback that each misbehave in
//! one named way (absurd counts, frames announced and never sent, replies twice or after the
//! timeout, strings that are not UTF-8, garbage, bytes one at a time, floods of requests), and
//! the real `mqtui` binary pointed at them, its peak memory read from the kernel (`wait4`).
//! Their frames are written byte by byte here, not by mqtui's encoder.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A frame: `u32 length | u8 JSON | u24 header length | header | body`.
pub fn frame(header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(8 + header.len() + body.len());
    f.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
    f.extend_from_slice(&(header.len() as u32).to_be_bytes());
    f.extend_from_slice(header);
    f.extend_from_slice(body);
    f
}

/// A response header with these extFields (a JSON object's members) and remark.
pub fn response(code: i32, opaque: i32, ext: &str, remark: Option<&[u8]>) -> Vec<u8> {
    let mut h = format!(r#"{{"code":{code},"flag":1,"language":"JAVA","opaque":{opaque},"version":453,"#).into_bytes();
    if let Some(r) = remark {
        h.extend_from_slice(br#""remark":""#);
        h.extend_from_slice(r);
        h.extend_from_slice(br#"","#);
    }
    h.extend_from_slice(format!(r#""extFields":{{{ext}}},"serializeTypeCurrentRPC":"JSON"}}"#).as_bytes());
    h
}

/// The code, opaque and flag of the next request on `s` (its bytes read and dropped; the
/// client's responses to requests of ours are skipped); None when the client closed.
pub fn read_request(s: &mut TcpStream) -> Option<(i32, i32, i32)> {
    loop {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).ok()?;
        let len = u32::from_be_bytes(len) as usize;
        if len > 64 << 20 {
            return None;
        }
        let mut rest = vec![0u8; len];
        s.read_exact(&mut rest).ok()?;
        let hlen = (u32::from_be_bytes(rest[..4].try_into().ok()?) & 0xFF_FFFF) as usize;
        let header: serde_json::Value = serde_json::from_slice(rest.get(4..4 + hlen)?).ok()?;
        let int = |k: &str| header[k].as_i64().unwrap_or(0) as i32;
        if int("flag") & 1 == 0 {
            return Some((int("code"), int("opaque"), int("flag")));
        }
    }
}

/// What one misbehaving server does with a connection.
pub type Serve = Arc<dyn Fn(TcpStream) + Send + Sync>;

/// A server on loopback whose every connection is handled by `serve` on a thread of its own;
/// stopped (and its connections dropped, as the threads find out) when dropped.
pub struct Peer {
    pub addr: String,
    stop: Arc<AtomicBool>,
}

impl Peer {
    pub fn start(serve: Serve) -> Peer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        l.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_nodelay(true);
                        let serve = serve.clone();
                        std::thread::spawn(move || serve(s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Peer { addr, stop }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A route of one broker `broker-h` at `addr` with 4 queues.
pub fn route_to(addr: &str) -> String {
    format!(
        r#"{{"brokerDatas":[{{"brokerAddrs":{{"0":"{addr}"}},"brokerName":"broker-h","cluster":"C"}}],"queueDatas":[{{"brokerName":"broker-h","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}}]}}"#
    )
}

/// A name server that answers every route lookup with `route` (a body as it is), and any other
/// request with SUCCESS.
pub fn name_server(route: Vec<u8>) -> Serve {
    let route = Arc::new(route);
    Arc::new(move |mut s: TcpStream| {
        while let Some((code, opaque, _)) = read_request(&mut s) {
            let body: &[u8] = if code == 105 { &route } else { b"" };
            if s.write_all(&frame(&response(0, opaque, "", None), body)).is_err() {
                return;
            }
        }
    })
}

/// A well-behaved answer to a send (SEND_OK).
pub fn send_ok(opaque: i32) -> Vec<u8> {
    frame(
        &response(0, opaque, r#""msgId":"7F00000100002A9F0000000000000000","queueId":"0","queueOffset":"1""#, None),
        b"",
    )
}

/// A broker that answers each request with `answer(code, opaque)`'s bytes (sends and
/// heartbeats alike; a oneway request is not answered).
pub fn broker(answer: impl Fn(&mut TcpStream, i32, i32) -> bool + Send + Sync + 'static) -> Serve {
    Arc::new(move |mut s: TcpStream| {
        while let Some((code, opaque, flag)) = read_request(&mut s) {
            if flag & 2 != 0 {
                continue;
            }
            if !answer(&mut s, code, opaque) {
                return;
            }
        }
    })
}

/// What a run of the real binary left.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident memory, MB (the kernel's count of the process's own).
    pub peak_mb: f64,
    pub took: Duration,
}

impl Run {
    /// The JSON lines of `--output jsonl` of one type.
    pub fn lines(&self, kind: &str) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["type"] == kind)
            .collect()
    }

    /// No panic, no backtrace: what an operator must never see.
    pub fn assert_no_panic(&self, what: &str) {
        assert_ne!(self.code, Some(101), "{what}: exit 101\n{}", self.stderr);
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE") && self.code.is_some(),
            "{what}: a panic or a signal reached the user (exit {:?}):\n{}",
            self.code,
            self.stderr
        );
    }
}

/// Runs `mqtui args…`, killing it after `limit`; its peak memory from `wait4`.
// The child is reaped by wait4 (for its rusage), not by Child::wait.
#[allow(clippy::zombie_processes)]
pub fn mqtui(args: &[&str], limit: Duration) -> Run {
    let logs = std::env::temp_dir().join("mqtui-test-logs");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(args)
        .env("MQTUI_LOG_DIR", &logs)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let killer = std::thread::spawn(move || {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            // SAFETY: signal 0 only asks whether the process is there.
            if unsafe { libc::kill(pid, 0) } != 0 {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: the child we started; it is not reaped yet (wait4 below does that).
        unsafe { libc::kill(pid, libc::SIGKILL) };
        true
    });
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    let took = started.elapsed();
    let killed = killer.join().unwrap();
    let code = if libc::WIFEXITED(status) { Some(libc::WEXITSTATUS(status)) } else { None };
    let run = Run {
        code,
        stdout: o.join().unwrap(),
        stderr: e.join().unwrap(),
        peak_mb: usage.ru_maxrss as f64 / 1024.0,
        took,
    };
    assert!(!killed, "mqtui {args:?} still ran after {limit:?} (a hang)\n{}", run.stderr);
    run
}
