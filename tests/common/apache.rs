//! Apache RocketMQ from the tests: scripts/apache-rocketmq runs the Java name server, brokers,
//! client and mqadmin (fetched from Maven Central); scripts/test starts the cluster and sets
//! MQTUI_APACHE_NAMESRV.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

pub fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/apache-rocketmq")
}

pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/apache-rocketmq")
}

/// The running Apache RocketMQ cluster's name server, or None (the test skips, outside CI).
pub fn namesrv() -> Option<String> {
    super::needs_env("MQTUI_APACHE_NAMESRV", "scripts/test starts Apache RocketMQ (scripts/apache-rocketmq start)")
}

fn run(version: &str, args: &[&str]) -> Output {
    run_env(version, args, &[])
}

/// scripts/apache-rocketmq ARGS with more environment (MQTUI_APACHE_TLS, MQTUI_APACHE_RUN, …).
pub fn run_env(version: &str, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new("bash")
        .arg(script())
        .args(args)
        .env("MQTUI_APACHE_VERSION", version)
        .envs(envs.iter().copied())
        .output()
        .expect("run scripts/apache-rocketmq")
}

/// `mqadmin ARGS` of the default version (5.3.x): its stdout, stderr on failure.
pub fn mqadmin(args: &[&str]) -> String {
    let version = std::env::var("MQTUI_APACHE_VERSION").unwrap_or_else(|_| "5.3.3".into());
    let o = run(&version, &[&["mqadmin"][..], args].concat());
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "mqadmin {args:?}: {out}\n{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// A Java program of tests/interop/apache-rocketmq (source-file mode) with `version`'s client.
pub fn java(version: &str, program: &str, args: &[&str]) -> Output {
    let src = interop_dir().join(program);
    let mut a = vec!["java", src.to_str().unwrap()];
    a.extend_from_slice(args);
    run(version, &a)
}

/// The JSON lines of a Java program's stdout (the Java client's own log lines skipped).
pub fn json_lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// fastjson's output of a map with integer keys (`{0:"127.0.0.1:30911"}`) as JSON.
pub fn fastjson_to_json(s: &str) -> Value {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut in_str = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if in_str {
            out.push(c);
            if c == '\\' && i + 1 < b.len() {
                out.push(b[i + 1] as char);
                i += 1;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if (c == '{' || c == ',') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let end = (i + 1..b.len()).find(|&j| !b[j].is_ascii_digit()).unwrap_or(b.len());
            if b.get(end) == Some(&b':') {
                out.push(c);
                out.push('"');
                out.push_str(&s[i + 1..end]);
                out.push('"');
                i = end;
                continue;
            }
            out.push(c);
        } else {
            out.push(c);
        }
        i += 1;
    }
    let json = &out[out.find('{').unwrap_or(0)..];
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
}
