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

use common::faults::{a_real_cluster_misbehaving, RealCluster};

struct Apache {
    namesrv: String,
}

fn script(args: &[&str]) -> std::process::Output {
    Command::new("bash").arg(common::apache::script()).args(args).stderr(Stdio::inherit()).output().unwrap()
}

impl RealCluster for Apache {
    fn kind(&self) -> &'static str {
        "Apache"
    }
    fn namesrv(&self) -> &str {
        &self.namesrv
    }
    fn pid(&self, name: &str) -> String {
        let o = script(&["pid", name]);
        assert!(o.status.success(), "no pid for {name}");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
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
