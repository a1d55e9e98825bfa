//! `mqtui produce` against the real peer (rocketmq-rust's name server and brokers) while the
//! cluster misbehaves for real: a broker stopped (SIGSTOP) and resumed, a broker killed and
//! restarted, the name server stopped (the scenario of tests/common/faults.rs). `.ci/run` starts the peer and sets MQTUI_PEER_NAMESRV and
//! MQTUI_PEERS_RUN; without them this says so and passes, except under CI=true.
//!
//! One test runs the scenarios one after another: they share the peer cluster. It is ignored in
//! a plain `cargo test` (it kills the peer's name server); scripts/test runs it last with
//! `cargo test --test peer_faults -- --ignored`.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::faults::{a_real_cluster_misbehaving, RealCluster};

struct Peer {
    namesrv: String,
    run: PathBuf,
    bin: PathBuf,
}

impl RealCluster for Peer {
    fn kind(&self) -> &'static str {
        "Rust"
    }
    fn namesrv(&self) -> &str {
        &self.namesrv
    }
    fn pid(&self, name: &str) -> String {
        std::fs::read_to_string(self.run.join(format!("{name}.pid"))).unwrap().trim().to_string()
    }
    /// Starts a broker again as rocketmq-rust.sh does, and waits until it listens. It outlives
    /// this test: rocketmq-rust.sh stop ends it through its pid file.
    #[allow(clippy::zombie_processes)]
    fn restart(&self, name: &str) {
        let port = if name == "broker-a" { 20911 } else { 20921 };
        let dir = self.run.join(name);
        let log = std::fs::File::create(dir.join("broker-restarted.log")).unwrap();
        let child = Command::new("setsid")
            .arg(self.bin.join("rocketmq-broker-rust"))
            .args(["-c", dir.join("broker.toml").to_str().unwrap(), "-n", &self.namesrv])
            .env("ROCKETMQ_HOME", &self.run)
            .env("ROCKETMQ_SECURITY_PROFILE", "development-insecure-loopback")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        std::fs::write(self.run.join(format!("{name}.pid")), child.id().to_string()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "{name} did not listen again on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
#[ignore = "stops, kills and restarts the real peer's processes: scripts/test runs it last, alone"]
fn a_real_cluster_misbehaving_rocketmq_rust() {
    let (Some(namesrv), Some(run)) = (
        common::needs_env("MQTUI_PEER_NAMESRV", "scripts/test starts the real peer"),
        common::needs_env("MQTUI_PEERS_RUN", "scripts/test starts the real peer"),
    ) else {
        return;
    };
    let home = std::env::var("HOME").unwrap_or_default();
    let bin =
        std::env::var("MQTUI_PEERS").map_or_else(|_| PathBuf::from(home).join(".cache/mqtui-peers"), PathBuf::from);
    let peer = Peer { namesrv, run: run.into(), bin: bin.join("bin") };
    a_real_cluster_misbehaving(&peer);
}
