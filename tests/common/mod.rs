//! What the integration tests that need something from outside share: a test whose tool or
//! peer is missing says so and passes — except under `CI=true`, where the missing piece is a
//! failure (scripts/test installs and starts everything).
#![allow(dead_code)] // each test file uses its own part

pub mod apache;
pub mod demo;
pub mod faults;
pub mod headers;

use std::process::Command;

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
