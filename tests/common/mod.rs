//! What the integration tests that need something from outside share: a test whose tool or
//! peer is missing says so and passes — except under `CI=true`, where the missing piece is a
//! failure (scripts/test installs and starts everything).
#![allow(dead_code)] // each test file uses its own part

pub mod apache;
pub mod demo;
pub mod faults;
pub mod headers;
pub mod hostile;
pub mod screen;

use std::process::Command;
use std::time::{Duration, Instant};

fn skip(why: &str, needed_by_ci: &str) {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{needed_by_ci}");
    eprintln!("{why}: skipping");
}

/// The value of `var`, or `None` (the test skips) when it is not set.
pub fn needs_env(var: &str, who_sets_it: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) => Some(v),
        Err(_) => {
            skip(&format!("{var} not set"), &format!("CI must set {var}: {who_sets_it}"));
            None
        }
    }
}

/// Whether tmux runs here (the test skips when it does not).
pub fn needs_tmux() -> bool {
    let ok = Command::new("tmux").arg("-V").output().is_ok();
    if !ok {
        skip("tmux not installed", "CI must install tmux (scripts/test does)");
    }
    ok
}

/// `mqtui topic create` on every broker of a real two-broker cluster, then waits (up to 40 s)
/// until the name server routes it: 8 writable queues.
pub fn create_topic(namesrv: &str, topic: &str) {
    let bin = env!("CARGO_BIN_EXE_mqtui");
    let logs = std::env::temp_dir().join("mqtui-test-logs");
    let o = Command::new(bin)
        .args(["topic", "create", "--namesrv", namesrv, "--topic", topic])
        .env("MQTUI_LOG_DIR", &logs)
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "topic create {topic}: {said}");
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let o = Command::new(bin)
            .args(["route", "--namesrv", namesrv, "--topic", topic])
            .env("MQTUI_LOG_DIR", &logs)
            .output()
            .unwrap();
        if String::from_utf8_lossy(&o.stdout).contains("8 writable queue(s)") {
            return;
        }
        assert!(Instant::now() < deadline, "{topic} never reached the route");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A reply frame captured byte for byte (tests/fixtures/DIR/NAME, length prefix included),
/// through the codec as a connection reads it.
pub fn fixture_in(dir: &str, name: &str) -> mqtui::remoting::RemotingCommand {
    let path = format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
    assert_eq!(len + 4, bytes.len(), "{name}: one whole frame");
    let mut codec = mqtui::remoting::RemotingCodec::default();
    let mut buf = bytes::BytesMut::from(&bytes[..]);
    let cmd = tokio_util::codec::Decoder::decode(&mut codec, &mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    assert!(cmd.is_response(), "{name}");
    cmd
}
