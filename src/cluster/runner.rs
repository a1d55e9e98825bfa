//! The one scenario runner: a scenario's steps on tokio's clock (so tests drive it with a paused
//! clock), for whatever servers they change — the demo cluster's own, or the `--chaos` proxies
//! in front of a real cluster's brokers.

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::scenario::{Scenario, Step};

/// Runs `scenario` from now on. Steps at 0 s hold from the start: they are applied before this
/// returns. `apply` changes what a step names and returns false once that is gone (the cluster
/// or the proxies dropped), which ends the runner. With `repeat_every`, the steps begin again
/// every period.
pub fn spawn(scenario: Scenario, mut apply: impl FnMut(&Scenario, &Step) -> bool + Send + 'static) -> JoinHandle<()> {
    let first = scenario.steps.iter().take_while(|s| s.at.is_zero()).count();
    let mut gone = false;
    for step in &scenario.steps[..first] {
        gone = gone || !apply(&scenario, step);
    }
    tokio::spawn(async move {
        if gone {
            return;
        }
        let mut start = Instant::now();
        let mut skip = first;
        loop {
            for step in scenario.steps.iter().skip(skip) {
                tokio::time::sleep_until(start + step.at).await;
                if !apply(&scenario, step) {
                    return;
                }
            }
            skip = 0;
            match scenario.repeat_every {
                Some(period) => {
                    start += period;
                    tokio::time::sleep_until(start).await;
                }
                None => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    /// (step index within the scenario, ms since the start) of every step applied.
    type Applied = Arc<Mutex<Vec<(usize, u64)>>>;

    fn record(scenario: &Scenario, applied: &Applied, t0: Instant) -> impl FnMut(&Scenario, &Step) -> bool {
        let (steps, applied) = (scenario.steps.clone(), applied.clone());
        move |_, step| {
            let i = steps.iter().position(|s| std::ptr::eq(s, step) || s == step).unwrap();
            applied.lock().unwrap().push((i, t0.elapsed().as_millis() as u64));
            true
        }
    }

    #[tokio::test(start_paused = true)]
    async fn steps_at_zero_hold_before_it_returns_the_rest_come_on_time_and_repeat() {
        let text = "repeat_every = 10\n[[step]]\nat = 0\nbroker = \"broker-a\"\ndown = true\n\
                    [[step]]\nat = 4\nbroker = \"broker-a\"\nclear = true\n";
        let s = Scenario::from_toml(text, "t.toml").unwrap();
        let applied: Applied = Default::default();
        let t0 = Instant::now();
        let task = spawn(s.clone(), record(&s, &applied, t0));
        assert_eq!(*applied.lock().unwrap(), vec![(0, 0)], "the step at 0 s, before spawn returned");
        tokio::time::sleep(Duration::from_millis(14_500)).await;
        assert_eq!(*applied.lock().unwrap(), vec![(0, 0), (1, 4000), (0, 10_000), (1, 14_000)]);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_runner_whose_target_is_gone_ends() {
        let text = "[[step]]\nat = 1\nbroker = \"broker-a\"\ndown = true\n[[step]]\nat = 2\nbroker = \"broker-a\"\nclear = true\n";
        let s = Scenario::from_toml(text, "t.toml").unwrap();
        let calls = Arc::new(Mutex::new(0));
        let c = calls.clone();
        let task = spawn(s, move |_, _| {
            *c.lock().unwrap() += 1;
            false
        });
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(task.is_finished());
        assert_eq!(*calls.lock().unwrap(), 1, "nothing applied after the target was gone");
    }
}
