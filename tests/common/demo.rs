//! `mqtui cluster` as a separate process, for clients nobody here wrote.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};

/// `mqtui cluster --brokers 2 --port 0`, running: (process, its stdout, name server address).
pub fn start_cluster(logs: &str) -> (Child, BufReader<ChildStdout>, String) {
    start_cluster_with(logs, &[])
}

pub fn start_cluster_with(logs: &str, extra: &[&str]) -> (Child, BufReader<ChildStdout>, String) {
    let mut cluster = Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["cluster", "--brokers", "2", "--port", "0"])
        .args(extra)
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join(logs))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mqtui cluster");
    let mut out = BufReader::new(cluster.stdout.take().unwrap());
    let mut namesrv = None;
    let mut brokers = 0;
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        if let Some(addr) = line.trim().strip_prefix("name server: ") {
            namesrv = Some(addr.to_string());
        }
        if line.starts_with("broker ") {
            brokers += 1;
        }
        if line.starts_with("Ctrl-C") {
            break;
        }
        line.clear();
    }
    assert_eq!(brokers, 2);
    (cluster, out, namesrv.expect("mqtui cluster prints the name server address"))
}

/// SIGTERM: the cluster stops and prints what each broker stored; that table.
pub fn stop_cluster(cluster: &mut Child, out: &mut BufReader<ChildStdout>) -> String {
    Command::new("kill").arg(cluster.id().to_string()).status().unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = cluster.wait().unwrap();
    println!("{rest}");
    assert!(status.success(), "mqtui cluster exits cleanly on SIGTERM");
    rest
}

/// The sum of a column of the brokers' table `mqtui cluster` prints when it stops.
pub fn column_sum(table: &str, col: usize) -> u64 {
    table
        .lines()
        .filter(|l| l.starts_with("broker-"))
        .map(|l| l.split_whitespace().nth(col).unwrap().parse::<u64>().unwrap())
        .sum()
}
