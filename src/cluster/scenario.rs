//! Scenarios: timelines of faults, built in or read from a TOML file.
//!
//! ```toml
//! name = "slow-then-down"
//! description = "broker-b slows down, then goes away, then comes back"
//! repeat_every = 60        # optional: replay the timeline every 60 s
//!
//! [[step]]
//! at = 2                   # seconds after the scenario starts
//! broker = "broker-b"
//! latency_ms = 700
//! jitter_ms = 100
//!
//! [[step]]
//! at = 20
//! broker = "broker-b"
//! down = true
//!
//! [[step]]
//! at = 30
//! broker = "broker-b"
//! clear = true             # healthy again (and up)
//!
//! [[step]]
//! at = 40
//! namesrv = true
//! slow_ms = 300            # the name server answers after 300 ms
//! ```

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use super::fault::{BrokerFault, NameServerFault, STORE_STATUSES};
use crate::remoting::ResponseCode;

/// The names of the built-in scenarios.
pub const BUILTIN: [&str; 8] = ["healthy", "slow-broker", "broker-down", "hang", "busy", "go-away", "flapping", "demo"];

#[derive(Debug, Error)]
pub enum ScenarioError {
    #[error("unknown scenario {0:?}: not a built-in one ({list}) and no such file", list = BUILTIN.join(", "))]
    Unknown(String),
    #[error("cannot read scenario file {path}: {err}")]
    Read { path: String, err: String },
    #[error("scenario file {path}: {err}")]
    Parse { path: String, err: String },
    #[error("scenario {name}: step {step}: {err}")]
    Invalid { name: String, step: usize, err: String },
}

/// Which server a step changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Broker(String),
    NameServer,
}

/// One change to a broker's or the name server's faults. Fields left `None` keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// Reset to healthy (and up) before applying the other fields.
    pub clear: bool,
    pub latency_ms: Option<u64>,
    pub jitter_ms: Option<u64>,
    /// A response code name or number; `"none"` stops it.
    pub error: Option<String>,
    /// FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE; `"none"` stops it.
    pub status: Option<String>,
    pub hang: Option<bool>,
    pub close: Option<bool>,
    /// GO_AWAY on the connections made before (a 5.x broker shutting down).
    pub go_away: Option<bool>,
    pub down: Option<bool>,
    /// `up = true` is `down = false`.
    pub up: Option<bool>,
    /// Name server: reply delay.
    pub slow_ms: Option<u64>,
    /// Name server: answer TOPIC_NOT_EXIST for this topic (`*` = all).
    pub topic_missing: Option<String>,
    /// Name server: serve this topic again.
    pub topic_back: Option<String>,
    /// Name server: route this topic read-only (no writable queue; `*` = all).
    pub topic_read_only: Option<String>,
    /// Name server: leave this broker out of routes and cluster info (it still runs).
    pub unregister: Option<String>,
    /// Name server: list this broker again.
    pub register: Option<String>,
}

fn parse_code(s: &str, what: &str) -> Result<Option<i32>, String> {
    if s.eq_ignore_ascii_case("none") || s.is_empty() {
        return Ok(None);
    }
    ResponseCode::parse(s).map(|c| Some(c.code())).ok_or_else(|| format!("unknown {what} {s:?}"))
}

impl Change {
    fn validate(&self, target: &Target) -> Result<(), String> {
        for (key, ms) in [("latency_ms", self.latency_ms), ("jitter_ms", self.jitter_ms), ("slow_ms", self.slow_ms)] {
            if ms.is_some_and(|ms| ms > MAX_FAULT_MS) {
                return Err(format!("{key} = {} is more than a day ({MAX_FAULT_MS} ms)", ms.unwrap_or_default()));
            }
        }
        match target {
            Target::Broker(_) => {
                if self.slow_ms.is_some()
                    || self.topic_missing.is_some()
                    || self.topic_back.is_some()
                    || self.topic_read_only.is_some()
                    || self.unregister.is_some()
                    || self.register.is_some()
                {
                    return Err(
                        "slow_ms / topic_missing / topic_back / topic_read_only / unregister / register apply to the name server (namesrv = true)".into(),
                    );
                }
                if let Some(e) = &self.error {
                    parse_code(e, "error code")?;
                }
                if let Some(s) = &self.status {
                    if let Some(c) = parse_code(s, "store status")? {
                        if !STORE_STATUSES.iter().any(|x| x.code() == c) {
                            return Err(format!(
                                "status must be one of FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE, not {s}"
                            ));
                        }
                    }
                }
            }
            Target::NameServer => {
                if self.latency_ms.is_some()
                    || self.jitter_ms.is_some()
                    || self.error.is_some()
                    || self.status.is_some()
                    || self.hang.is_some()
                    || self.close.is_some()
                {
                    return Err(
                        "the name server takes clear, slow_ms, down/up, topic_missing, topic_back, topic_read_only, unregister, register"
                            .into(),
                    );
                }
            }
        }
        Ok(())
    }

    /// Applies this change to a broker's faults.
    pub fn apply_broker(&self, f: &mut BrokerFault) {
        if self.clear {
            *f = BrokerFault::default();
        }
        if let Some(v) = self.latency_ms {
            f.latency = Duration::from_millis(v);
        }
        if let Some(v) = self.jitter_ms {
            f.jitter = Duration::from_millis(v);
        }
        if let Some(e) = &self.error {
            f.error_code = parse_code(e, "").ok().flatten();
        }
        if let Some(s) = &self.status {
            f.store_status = parse_code(s, "").ok().flatten();
        }
        if let Some(v) = self.hang {
            f.hang = v;
        }
        if let Some(v) = self.close {
            f.close_on_send = v;
        }
        if let Some(v) = self.go_away {
            f.go_away = v;
        }
        if let Some(v) = self.down {
            f.down = v;
        }
        if let Some(v) = self.up {
            f.down = !v;
        }
    }

    /// Applies this change to the name server's faults.
    pub fn apply_namesrv(&self, f: &mut NameServerFault) {
        if self.clear {
            *f = NameServerFault::default();
        }
        if let Some(v) = self.slow_ms {
            f.latency = Duration::from_millis(v);
        }
        if let Some(v) = self.down {
            f.down = v;
        }
        if let Some(v) = self.up {
            f.down = !v;
        }
        if let Some(t) = &self.topic_missing {
            f.missing_topics.insert(t.clone());
        }
        if let Some(t) = &self.topic_read_only {
            f.read_only_topics.insert(t.clone());
        }
        if let Some(b) = &self.unregister {
            f.unregistered.insert(b.clone());
        }
        if let Some(b) = &self.register {
            f.unregistered.remove(b);
        }
        if let Some(t) = &self.topic_back {
            if t == "*" {
                f.missing_topics.clear();
                f.read_only_topics.clear();
            } else {
                f.missing_topics.remove(t);
                f.read_only_topics.remove(t);
            }
        }
    }
}

/// One point of a timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Time since the scenario started.
    pub at: Duration,
    pub target: Target,
    pub change: Change,
}

/// A timeline of fault changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Replay the timeline with this period.
    pub repeat_every: Option<Duration>,
    /// Sorted by `at`.
    pub steps: Vec<Step>,
    /// `[[threshold]]`: the run's pass/fail criteria, beside any `--threshold`.
    pub thresholds: Vec<crate::stats::threshold::Threshold>,
    /// `[[stage]]`: the run's rate over time, unless `--stages` is given.
    pub stages: Vec<crate::producer::shape::Stage>,
    /// `[burst]`: bursts on top of the rate, unless `--burst` is given.
    pub burst: Option<crate::producer::shape::Burst>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileScenario {
    name: Option<String>,
    #[serde(default)]
    description: String,
    repeat_every: Option<f64>,
    #[serde(default)]
    step: Vec<FileStep>,
    #[serde(default)]
    threshold: Vec<FileThreshold>,
    #[serde(default)]
    stage: Vec<FileStage>,
    burst: Option<FileBurst>,
}

/// A `[[stage]]` table: `duration = "30s"`, `rate = 2000` (ramp to it over the duration).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStage {
    duration: String,
    rate: f64,
}

/// A `[burst]` table: `size = 500`, `every = "5s"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBurst {
    size: u64,
    every: String,
}

/// A `[[threshold]]` table: `expr = "p99<500ms"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileThreshold {
    expr: String,
}

/// A `[[step]]` table: where and when, and the change (not flattened, so that an unknown key is
/// reported at its own line).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStep {
    at: f64,
    broker: Option<String>,
    #[serde(default)]
    namesrv: bool,
    #[serde(default)]
    clear: bool,
    latency_ms: Option<u64>,
    jitter_ms: Option<u64>,
    error: Option<String>,
    status: Option<String>,
    hang: Option<bool>,
    close: Option<bool>,
    go_away: Option<bool>,
    down: Option<bool>,
    up: Option<bool>,
    slow_ms: Option<u64>,
    topic_missing: Option<String>,
    topic_back: Option<String>,
    topic_read_only: Option<String>,
    unregister: Option<String>,
    register: Option<String>,
}

impl FileStep {
    fn change(&self) -> Change {
        Change {
            clear: self.clear,
            latency_ms: self.latency_ms,
            jitter_ms: self.jitter_ms,
            error: self.error.clone(),
            status: self.status.clone(),
            hang: self.hang,
            close: self.close,
            go_away: self.go_away,
            down: self.down,
            up: self.up,
            slow_ms: self.slow_ms,
            topic_missing: self.topic_missing.clone(),
            topic_back: self.topic_back.clone(),
            topic_read_only: self.topic_read_only.clone(),
            unregister: self.unregister.clone(),
            register: self.register.clone(),
        }
    }
}

/// The longest latency, jitter or name server slowness a step may inject.
const MAX_FAULT_MS: u64 = 86_400_000;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

fn step(at: f64, broker: &str, change: Change) -> Step {
    Step { at: secs(at), target: Target::Broker(broker.to_string()), change }
}

fn clear() -> Change {
    Change { clear: true, ..Default::default() }
}

impl Scenario {
    /// A built-in scenario by name, or a scenario file by path.
    pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        if let Some(s) = Scenario::builtin(name_or_path) {
            return Ok(s);
        }
        let path = Path::new(name_or_path);
        if path.exists() || name_or_path.ends_with(".toml") {
            let text = crate::bounds::read_text_limited(path, crate::bounds::MAX_SETTINGS_FILE, "scenario")
                .map_err(|err| ScenarioError::Read { path: name_or_path.to_string(), err })?;
            return Scenario::from_toml(&text, name_or_path);
        }
        Err(ScenarioError::Unknown(name_or_path.to_string()))
    }

    /// Parses a scenario file's text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let f: FileScenario =
            toml::from_str(text).map_err(|e| ScenarioError::Parse { path: origin.to_string(), err: e.to_string() })?;
        let name = f.name.unwrap_or_else(|| {
            Path::new(origin).file_stem().map_or_else(|| origin.to_string(), |s| s.to_string_lossy().into_owned())
        });
        let mut steps = Vec::new();
        for (i, s) in f.step.into_iter().enumerate() {
            let invalid = |err: String| ScenarioError::Invalid { name: name.clone(), step: i + 1, err };
            let at = crate::bounds::secs(s.at, &format!("at = {}", s.at))
                .map_err(|e| invalid(format!("{e}: a time in seconds from 0 to a year")))?;
            let change = s.change();
            let target = match (s.broker, s.namesrv) {
                (Some(b), false) => Target::Broker(b),
                (None, true) => Target::NameServer,
                (Some(_), true) => {
                    return Err(invalid("give either broker = \"…\" or namesrv = true, not both".into()))
                }
                (None, false) => {
                    return Err(invalid("say which server: broker = \"broker-b\" or namesrv = true".into()))
                }
            };
            change.validate(&target).map_err(invalid)?;
            steps.push(Step { at, target, change });
        }
        steps.sort_by_key(|s| s.at);
        let repeat_every = match f.repeat_every {
            Some(r) if r > 0.0 && r.is_finite() => {
                let r = crate::bounds::secs(r, &format!("repeat_every = {r}"))
                    .map_err(|err| ScenarioError::Parse { path: origin.to_string(), err })?;
                if steps.last().is_some_and(|s| s.at >= r) {
                    return Err(ScenarioError::Invalid {
                        name,
                        step: steps.len(),
                        err: "repeat_every must be longer than the last step's time".into(),
                    });
                }
                Some(r)
            }
            Some(r) if r != 0.0 => {
                return Err(ScenarioError::Parse {
                    path: origin.to_string(),
                    err: format!("repeat_every = {r} must be a number of seconds > 0"),
                })
            }
            _ => None,
        };
        let thresholds = f
            .threshold
            .iter()
            .map(|t| crate::stats::threshold::Threshold::parse(&t.expr))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| ScenarioError::Parse { path: origin.to_string(), err })?;
        let parse_err = |err: String| ScenarioError::Parse { path: origin.to_string(), err };
        let stages = f
            .stage
            .iter()
            .enumerate()
            .map(|(i, st)| {
                crate::producer::shape::stage(&st.duration, &st.rate.to_string())
                    .map_err(|e| parse_err(format!("stage {}: {e}", i + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        crate::producer::shape::check_stages(&stages).map_err(parse_err)?;
        let burst = match f.burst {
            None => None,
            Some(b) => {
                let every =
                    crate::producer::shape::parse_duration(&b.every).map_err(|e| parse_err(format!("burst: {e}")))?;
                if b.size == 0 || b.size > 1_000_000 || every < Duration::from_millis(1) {
                    return Err(parse_err("burst: size is 1 to 1000000 and every at least 1ms".into()));
                }
                Some(crate::producer::shape::Burst { size: b.size, every })
            }
        };
        Ok(Scenario { name, description: f.description, repeat_every, steps, thresholds, stages, burst })
    }

    /// The built-in scenario `name`.
    pub fn builtin(name: &str) -> Option<Scenario> {
        let b = "broker-b";
        let slow = || Change { latency_ms: Some(700), jitter_ms: Some(100), ..Default::default() };
        let down = || Change { down: Some(true), ..Default::default() };
        let (description, repeat, steps): (&str, f64, Vec<Step>) = match name {
            "healthy" => ("every broker answers at once", 0.0, vec![]),
            "slow-broker" => (
                "broker-b answers in 700 ± 100 ms from 2 s to 30 s (isolated for 2 s after each slow reply), then recovers; every 60 s",
                60.0,
                vec![step(2.0, b, slow()), step(30.0, b, clear())],
            ),
            "broker-down" => (
                "broker-b goes down at 3 s (sends fail to connect, are retried on another broker) and comes back at 15 s; every 40 s",
                40.0,
                vec![step(3.0, b, down()), step(15.0, b, clear())],
            ),
            "hang" => (
                "broker-b reads requests and never answers from 3 s to 15 s (sends time out); every 40 s",
                40.0,
                vec![step(3.0, b, Change { hang: Some(true), ..Default::default() }), step(15.0, b, clear())],
            ),
            "busy" => (
                "broker-b answers SYSTEM_BUSY from 3 s to 13 s (async sends are not retried); every 40 s",
                40.0,
                vec![
                    step(3.0, b, Change { error: Some("SYSTEM_BUSY".into()), ..Default::default() }),
                    step(13.0, b, clear()),
                ],
            ),
            "go-away" => (
                "broker-b answers GO_AWAY on its open connections from 3 s to 13 s, as a 5.x broker shutting down (5.3 clients reconnect and resend; older ones see a broker error); every 40 s",
                40.0,
                vec![step(3.0, b, Change { go_away: Some(true), ..Default::default() }), step(13.0, b, clear())],
            ),
            "flapping" => ("broker-b goes down for 4 s every 8 s", 8.0, vec![step(2.0, b, down()), step(6.0, b, clear())]),
            "demo" => (
                "broker-b slow (700 ms) from 2 s to 10 s, broker-c down from 10 s to 18 s, all healthy until 30 s; repeats",
                30.0,
                vec![
                    step(2.0, b, slow()),
                    step(10.0, b, clear()),
                    step(10.0, "broker-c", down()),
                    step(18.0, "broker-c", clear()),
                ],
            ),
            _ => return None,
        };
        Some(Scenario {
            name: name.to_string(),
            description: description.to_string(),
            repeat_every: (repeat > 0.0).then(|| secs(repeat)),
            steps,
            thresholds: Vec::new(),
            stages: Vec::new(),
            burst: None,
        })
    }

    /// The brokers this scenario names.
    pub fn brokers(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .steps
            .iter()
            .flat_map(|s| match &s.target {
                Target::Broker(b) => vec![b.as_str()],
                // Brokers the name server unregisters or registers again are named too.
                Target::NameServer => {
                    s.change.unregister.iter().chain(s.change.register.iter()).map(String::as_str).collect()
                }
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// A readable one-line account of a step, e.g. `broker-b: down`.
pub fn describe(step: &Step) -> String {
    let who = match &step.target {
        Target::Broker(b) => b.clone(),
        Target::NameServer => "name server".to_string(),
    };
    let c = &step.change;
    let mut parts = Vec::new();
    if c.clear {
        parts.push("clear".to_string());
    }
    if let Some(v) = c.latency_ms {
        parts.push(format!("latency {v} ms"));
    }
    if let Some(v) = c.jitter_ms {
        parts.push(format!("jitter {v} ms"));
    }
    if let Some(v) = &c.error {
        parts.push(format!("error {v}"));
    }
    if let Some(v) = &c.status {
        parts.push(format!("status {v}"));
    }
    for (flag, name) in
        [(c.hang, "hang"), (c.close, "close on send"), (c.go_away, "go away"), (c.down, "down"), (c.up, "up")]
    {
        if let Some(v) = flag {
            parts.push(if v { name.to_string() } else { format!("no {name}") });
        }
    }
    if let Some(v) = c.slow_ms {
        parts.push(format!("slow {v} ms"));
    }
    if let Some(t) = &c.topic_missing {
        parts.push(format!("topic {t} missing"));
    }
    if let Some(t) = &c.topic_read_only {
        parts.push(format!("topic {t} read-only"));
    }
    if let Some(t) = &c.topic_back {
        parts.push(format!("topic {t} back"));
    }
    if let Some(b) = &c.unregister {
        parts.push(format!("{b} unregistered"));
    }
    if let Some(b) = &c.register {
        parts.push(format!("{b} registered"));
    }
    format!("{who}: {}", parts.join(", "))
}

#[cfg(test)]
#[path = "scenario_tests.rs"]
mod tests;
