//! `mqtui produce` against Apache RocketMQ's own name server and brokers (5.3.x, started by
//! scripts/test with scripts/apache-rocketmq) misbehaving for real: a broker stopped (SIGSTOP)
//! and resumed, killed (SIGKILL) and restarted on its store, stopped gracefully (SIGTERM) while
//! sending and restarted, the name server stopped — the scenario of tests/common/faults.rs, with
//! the expectations the rocketmq-rust cluster is held to.
//!
//! Ignored in a plain `cargo test` (it ends the name server); scripts/test runs it last with
//! `cargo test --test apache_faults -- --ignored`.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::faults::{a_real_cluster_misbehaving, RealCluster};

struct Apache {
    namesrv: String,
}

fn script(args: &[&str]) -> std::process::Output {
    Command::new("bash").arg(common::apache::script()).args(args).stderr(Stdio::inherit()).output().unwrap()
}

impl Apache {
    fn pid(&self, name: &str) -> String {
        let o = script(&["pid", name]);
        assert!(o.status.success(), "no pid for {name}");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }
}

impl RealCluster for Apache {
    fn kind(&self) -> &'static str {
        "Apache"
    }
    fn namesrv(&self) -> &str {
        &self.namesrv
    }
    fn signal(&self, name: &str, sig: &str) {
        let pid = self.pid(name);
        assert!(Command::new("kill").args([sig, &pid]).status().unwrap().success(), "kill {sig} {name}");
    }
    fn wait_gone(&self, name: &str, max: Duration) {
        let pid = self.pid(name);
        let deadline = Instant::now() + max;
        while Command::new("kill").args(["-0", &pid]).stderr(Stdio::null()).status().unwrap().success() {
            assert!(Instant::now() < deadline, "{name} still running after {max:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    fn restart(&self, name: &str) {
        let o = script(&["restart", name]);
        assert!(o.status.success(), "scripts/apache-rocketmq restart {name} failed");
    }
    fn restart_secs(&self) -> u32 {
        10
    }
    fn graceful_stop(&self) -> bool {
        true
    }
}

#[test]
#[ignore = "stops, kills and restarts Apache RocketMQ's processes: scripts/test runs it last, alone"]
fn apache_rocketmq_misbehaving() {
    let Some(namesrv) = common::apache::namesrv() else { return };
    a_real_cluster_misbehaving(&Apache { namesrv });
}
