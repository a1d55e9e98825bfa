//! The open load model: every send of a rated run has an intended start on the schedule, and
//! its latency counts from there, so that the time a send was held back (no in-flight slot, its
//! key's previous send not done) is in what the user waited for. Without it a stalled broker
//! shows as a handful of slow sends while the sends that could not even start are counted
//! nowhere: coordinated omission.
//!
//! The load driver runs each send inside [`scoped`]; the producer reads [`intended`] when the
//! send begins. A send made outside a schedule (the console's composed message, a test, an
//! unrated run) has none, and its latency counts from its real start.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

tokio::task_local! {
    static INTENDED: Instant;
}

/// A send that starts more than this after its intended time is behind schedule.
pub const BEHIND: Duration = Duration::from_millis(1);

/// Runs `f` (one send) with `at` as its intended start.
pub async fn scoped<F: Future>(at: Instant, f: F) -> F::Output {
    INTENDED.scope(at, f).await
}

/// The intended start of the send running on this task, if it is on a schedule.
pub fn intended() -> Option<Instant> {
    INTENDED.try_with(|at| *at).ok()
}

/// Where latency counts from under `--rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadModel {
    /// From each send's intended start on the schedule; the schedule is kept however far
    /// behind the sends fall (they then start as soon as they can), and the lag is reported.
    #[default]
    Open,
    /// From each send's real start; a schedule fallen more than 100 ms behind restarts from
    /// now (the time sends waited for a slot is counted nowhere).
    Closed,
}

impl LoadModel {
    pub fn parse(s: &str) -> Result<LoadModel, String> {
        match s {
            "open" => Ok(LoadModel::Open),
            "closed" => Ok(LoadModel::Closed),
            _ => Err(format!("{s:?}: the load model is open or closed")),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            LoadModel::Open => "open",
            LoadModel::Closed => "closed",
        }
    }
}

impl fmt::Display for LoadModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scoped_send_sees_its_intended_start_and_others_none() {
        let at = Instant::now();
        assert_eq!(scoped(at, async { intended() }).await, Some(at));
        assert_eq!(intended(), None);
        assert_eq!(tokio::spawn(scoped(at, async { intended() })).await.unwrap(), Some(at));
    }

    #[test]
    fn models_parse_and_name_themselves() {
        assert_eq!(LoadModel::parse("open"), Ok(LoadModel::Open));
        assert_eq!(LoadModel::parse("closed").map(|m| m.to_string()), Ok("closed".to_string()));
        assert!(LoadModel::parse("both").unwrap_err().contains("open or closed"));
    }
}
