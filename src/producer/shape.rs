//! Load shapes: a rate that changes over the run (`--stages 10s:100,30s:2000,10s:0`, each stage
//! ramping linearly from the rate before it to its own over its duration) and bursts on top
//! (`--burst 500 --burst-every 5s`: 500 sends due at once every 5 s), as k6's ramping arrival
//! rate and its stages.
//!
//! [`Slots`] turns a shape into the intended start of each send. Slot times are computed from
//! the shape each time (the inverse of the cumulative count), never accumulated, so a long run
//! does not drift from its schedule.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// One stage: reach `rate` (msg/s) linearly over `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    pub rate: f64,
}

/// `size` sends due at once every `every` (first at `every` after the start).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burst {
    pub size: u64,
    pub every: Duration,
}

/// A rate over time, and bursts on top of it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shape {
    /// The rate at the start (`--rate`, else 0); the first stage ramps from it.
    pub start_rate: f64,
    pub stages: Vec<Stage>,
    pub burst: Option<Burst>,
}

impl Shape {
    /// A constant rate.
    pub fn constant(rate: f64) -> Shape {
        Shape { start_rate: rate, ..Shape::default() }
    }

    /// Whether the shape is more than a constant rate.
    pub fn is_shaped(&self) -> bool {
        !self.stages.is_empty() || self.burst.is_some()
    }

    /// As the operator wrote it: "stages 10s:100,30s:2000 · burst 500 every 5s".
    pub fn describe(&self) -> String {
        let d = |d: Duration| {
            if d.subsec_millis() == 0 {
                format!("{}s", d.as_secs())
            } else {
                format!("{}ms", d.as_millis())
            }
        };
        let mut parts = Vec::new();
        if !self.stages.is_empty() {
            let s: Vec<String> = self.stages.iter().map(|s| format!("{}:{}", d(s.duration), s.rate)).collect();
            parts.push(format!("stages {}", s.join(",")));
        }
        if let Some(b) = self.burst {
            parts.push(format!("burst {} every {}", b.size, d(b.every)));
        }
        parts.join(" · ")
    }

    /// A shape from its [`describe`](Shape::describe) text (a recording keeps that), ramping
    /// from `start_rate`.
    pub fn parse_described(start_rate: f64, text: &str) -> Result<Shape, String> {
        let mut shape = Shape { start_rate, ..Shape::default() };
        for part in text.split(" · ").map(str::trim).filter(|p| !p.is_empty()) {
            if let Some(stages) = part.strip_prefix("stages ") {
                shape.stages = parse_stages(stages)?;
            } else if let Some((size, every)) = part.strip_prefix("burst ").and_then(|b| b.split_once(" every ")) {
                let size = size.trim().parse().map_err(|_| format!("{part:?}: the burst's size is a count"))?;
                shape.burst = Some(Burst { size, every: parse_duration(every.trim())? });
            } else {
                return Err(format!("{part:?}: not a shape (stages …, burst N every D)"));
            }
        }
        Ok(shape)
    }

    /// The stages' total length (zero without stages).
    pub fn length(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// The rate after the last stage (held until the run ends).
    fn final_rate(&self) -> f64 {
        self.stages.last().map_or(self.start_rate, |s| s.rate)
    }

    /// The paced rate `t` after the start (bursts not included).
    pub fn rate_at(&self, t: Duration) -> f64 {
        let mut from = self.start_rate;
        let mut at = Duration::ZERO;
        for s in &self.stages {
            if t < at + s.duration {
                let f = (t - at).as_secs_f64() / s.duration.as_secs_f64();
                return from + (s.rate - from) * f;
            }
            at += s.duration;
            from = s.rate;
        }
        self.final_rate()
    }

    /// Paced sends due by `t` (fractional).
    pub fn count_at(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        let (mut from, mut at, mut acc) = (self.start_rate, 0.0, 0.0);
        for s in &self.stages {
            let d = s.duration.as_secs_f64();
            if t < at + d {
                let x = t - at;
                return acc + from * x + (s.rate - from) * x * x / (2.0 * d);
            }
            acc += (from + s.rate) / 2.0 * d;
            at += d;
            from = s.rate;
        }
        acc + self.final_rate() * (t - at)
    }

    /// When the paced count reaches `n` (None: never, the rate ends at zero first).
    pub fn time_of(&self, n: f64) -> Option<Duration> {
        let (mut from, mut at, mut acc) = (self.start_rate, 0.0f64, 0.0f64);
        for s in &self.stages {
            let d = s.duration.as_secs_f64();
            let here = (from + s.rate) / 2.0 * d;
            if n <= acc + here && here > 0.0 {
                let m = n - acc;
                // from·x + a·x² = m, a = (to − from) / 2d; this form is stable for a near 0.
                let a = (s.rate - from) / (2.0 * d);
                let disc = (from * from + 4.0 * a * m).max(0.0);
                let x = if from + disc.sqrt() > 0.0 { 2.0 * m / (from + disc.sqrt()) } else { 0.0 };
                return Some(Duration::from_secs_f64(at + x.clamp(0.0, d)));
            }
            acc += here;
            at += d;
            from = s.rate;
        }
        let last = self.final_rate();
        (last > 0.0).then(|| Duration::from_secs_f64(at + (n - acc).max(0.0) / last))
    }
}

/// The intended starts of a run's sends, in order: the paced slots and the bursts merged.
#[derive(Debug, Clone)]
pub struct Slots {
    origin: Instant,
    shape: Arc<Shape>,
    /// Paced slots taken.
    paced: u64,
    /// The first paced slot is due at this count: 0 when the run starts at a rate (a send at
    /// the start, as a constant rate always did), 1 when it starts at zero (the first send is
    /// due once one is).
    first: f64,
    /// Bursts begun, and the sends left in the current one.
    bursts: u64,
    burst_left: u64,
}

impl Slots {
    pub fn new(origin: Instant, shape: Arc<Shape>) -> Slots {
        let first = if shape.start_rate > 0.0 { 0.0 } else { 1.0 };
        Slots { origin, shape, paced: 0, first, bursts: 0, burst_left: 0 }
    }

    pub fn shape(&self) -> &Arc<Shape> {
        &self.shape
    }

    fn next_paced(&self) -> Option<Instant> {
        self.shape.time_of(self.paced as f64 + self.first).map(|t| self.origin + t)
    }

    fn next_burst(&self) -> Option<Instant> {
        let b = self.shape.burst.filter(|b| b.size > 0 && !b.every.is_zero())?;
        Some(self.origin + b.every * (self.bursts + u64::from(self.burst_left == 0)) as u32)
    }

    /// The next slot, without taking it (None: the shape has no more).
    pub fn peek(&self) -> Option<Instant> {
        match (self.next_paced(), self.next_burst()) {
            (Some(p), Some(b)) => Some(p.min(b)),
            (p, b) => p.or(b),
        }
    }

    /// Takes the next slot.
    pub fn take(&mut self) -> Option<Instant> {
        let (p, b) = (self.next_paced(), self.next_burst());
        match (p, b) {
            (Some(p), Some(b)) if b < p => self.take_burst(),
            (None, Some(_)) => self.take_burst(),
            (Some(p), _) => {
                self.paced += 1;
                Some(p)
            }
            (None, None) => None,
        }
    }

    fn take_burst(&mut self) -> Option<Instant> {
        let at = self.next_burst()?;
        if self.burst_left == 0 {
            self.bursts += 1;
            self.burst_left = self.shape.burst.map_or(0, |b| b.size);
        }
        self.burst_left -= 1;
        Some(at)
    }

    /// Drops the paced slots due before `t` (the closed model's restart, a resume after a
    /// pause) and any burst not yet begun before it.
    pub fn skip_to(&mut self, t: Instant) {
        let since = t.saturating_duration_since(self.origin);
        let due = (self.shape.count_at(since) - self.first).ceil();
        if due > self.paced as f64 {
            self.paced = due as u64;
        }
        if let Some(b) = self.shape.burst.filter(|b| !b.every.is_zero()) {
            let begun = (since.as_nanos() / b.every.as_nanos()) as u64;
            if begun > self.bursts {
                self.bursts = begun;
                self.burst_left = 0;
            }
        }
    }

    /// Slots due before `t` that are not taken (what an open run owes when it ends).
    pub fn owed_before(&self, t: Instant) -> u64 {
        let since = t.saturating_duration_since(self.origin);
        let paced = (self.shape.count_at(since) - self.first).ceil().max(0.0) as u64;
        let mut owed = paced.saturating_sub(self.paced);
        if let Some(b) = self.shape.burst.filter(|b| b.size > 0 && !b.every.is_zero()) {
            let begun = (since.as_nanos().saturating_sub(1) / b.every.as_nanos()) as u64;
            owed += self.burst_left + begun.saturating_sub(self.bursts) * b.size;
        }
        owed
    }

    /// The paced rate at `t`.
    pub fn rate_at(&self, t: Instant) -> f64 {
        self.shape.rate_at(t.saturating_duration_since(self.origin))
    }
}

/// The stages of `--stages` (one value of the flag).
#[derive(Debug, Clone, PartialEq)]
pub struct Stages(pub Vec<Stage>);

impl Stages {
    pub fn parse(s: &str) -> Result<Stages, String> {
        parse_stages(s).map(Stages)
    }
}

/// `--stages 10s:100,30s:2000,10s:0`: DURATION:RATE, comma separated.
pub fn parse_stages(s: &str) -> Result<Vec<Stage>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim) {
        let (d, r) = part
            .split_once(':')
            .ok_or_else(|| format!("{part:?}: a stage is DURATION:RATE, as 30s:2000 (ramp to 2000 msg/s over 30 s)"))?;
        out.push(stage(d, r).map_err(|e| format!("{part:?}: {e}"))?);
    }
    check_stages(&out)?;
    Ok(out)
}

/// At most [`MAX_STAGES`] stages, a year in all.
pub fn check_stages(stages: &[Stage]) -> Result<(), String> {
    if stages.len() > MAX_STAGES {
        return Err(format!("{} stages: at most {MAX_STAGES}", stages.len()));
    }
    let total: f64 = stages.iter().map(|s| s.duration.as_secs_f64()).sum();
    crate::bounds::secs(total, "the stages in all").map(|_| ())
}

/// The most stages a run may have.
pub const MAX_STAGES: usize = 10_000;

/// One stage from its duration and rate texts.
pub fn stage(duration: &str, rate: &str) -> Result<Stage, String> {
    let duration = parse_duration(duration.trim())?;
    if duration.is_zero() {
        return Err("a stage lasts more than 0 s".into());
    }
    let rate: f64 = rate.trim().parse().map_err(|_| format!("{rate:?}: the rate is a number of msg/s"))?;
    let rate = crate::bounds::rate(rate, "the stage's rate")?;
    Ok(Stage { duration, rate })
}

/// `500ms`, `10s`, `2m`, `1h`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num.trim().parse().map_err(|_| format!("{s:?}: a duration is as 500ms, 10s, 2m or 1h"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: a duration's unit is ms, s, m or h")),
    };
    crate::bounds::secs(secs, &format!("{s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(start: f64, stages: &str) -> Shape {
        Shape { start_rate: start, stages: parse_stages(stages).unwrap(), burst: None }
    }

    #[test]
    fn stages_parse_and_bad_ones_say_why() {
        let s = parse_stages("10s:100, 30s:2000,500ms:0").unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[2], Stage { duration: Duration::from_millis(500), rate: 0.0 });
        assert_eq!(parse_stages("2m:5").unwrap()[0].duration, Duration::from_secs(120));
        for bad in ["10s", "10s:x", "0s:100", "10s:-1", "10x:5", ""] {
            assert!(parse_stages(bad).is_err(), "{bad}");
        }
        assert!(parse_stages("10s").unwrap_err().contains("DURATION:RATE"));
    }

    #[test]
    fn a_described_shape_reads_back_as_it_was() {
        let mut s = shape(50.0, "10s:100,1500ms:2000.5,10s:0");
        s.burst = Some(Burst { size: 500, every: Duration::from_secs(5) });
        for s in [s.clone(), Shape { burst: None, ..s.clone() }, Shape { stages: Vec::new(), ..s }] {
            assert_eq!(Shape::parse_described(50.0, &s.describe()).unwrap(), s, "{}", s.describe());
        }
        assert!(Shape::parse_described(0.0, "ramp 10s:5").is_err());
        assert!(Shape::parse_described(0.0, "burst x every 5s").is_err());
    }

    #[test]
    fn a_ramp_counts_the_area_under_the_rate() {
        let s = shape(0.0, "10s:100,10s:100,10s:0");
        assert_eq!(s.rate_at(Duration::from_secs(5)), 50.0);
        assert_eq!(s.rate_at(Duration::from_secs(15)), 100.0);
        assert_eq!(s.count_at(Duration::from_secs(10)), 500.0);
        assert_eq!(s.count_at(Duration::from_secs(20)), 1500.0);
        assert_eq!(s.count_at(Duration::from_secs(30)), 2000.0);
        assert_eq!(s.count_at(Duration::from_secs(40)), 2000.0);
        // time_of inverts count_at, in a ramp up, a plateau and a ramp down.
        for n in [1.0, 125.0, 500.0, 900.0, 1600.0, 1999.0] {
            let t = s.time_of(n).unwrap();
            assert!((s.count_at(t) - n).abs() < 1e-6, "{n} at {t:?}");
        }
        // The rate ends at zero: no slot after the last one due.
        assert!(s.time_of(2000.5).is_none());
        // A constant rate: n / rate.
        assert_eq!(Shape::constant(200.0).time_of(3.0), Some(Duration::from_millis(15)));
    }

    #[test]
    fn slots_follow_a_ramp_and_merge_bursts() {
        let t0 = Instant::now();
        let mut sh = shape(0.0, "1s:100");
        sh.burst = Some(Burst { size: 3, every: Duration::from_millis(450) });
        let mut slots = Slots::new(t0, Arc::new(sh));
        let mut all = Vec::new();
        while let Some(at) = slots.take() {
            if at >= t0 + Duration::from_secs(1) {
                break;
            }
            all.push(at - t0);
        }
        // 50 paced (the area of the ramp, the first due once one is) and two bursts of 3.
        let at_450 = all.iter().filter(|d| **d == Duration::from_millis(450)).count();
        assert_eq!(at_450, 3);
        assert_eq!(all.len(), 49 + 6, "{all:?}");
        assert!(all.windows(2).all(|w| w[0] <= w[1]), "in order");
        // The first paced slot: count 1 at √(2/100) s.
        assert!((all[0].as_secs_f64() - 0.02f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn skipping_drops_what_is_due_and_owed_counts_it() {
        let t0 = Instant::now();
        let mut sh = Shape::constant(100.0);
        sh.burst = Some(Burst { size: 10, every: Duration::from_secs(1) });
        let mut slots = Slots::new(t0, Arc::new(sh));
        slots.take();
        // 2.5 s in: paced 250 due (one taken), bursts at 1 s and 2 s (20).
        assert_eq!(slots.owed_before(t0 + Duration::from_millis(2500)), 249 + 20);
        slots.skip_to(t0 + Duration::from_millis(2500));
        assert_eq!(slots.owed_before(t0 + Duration::from_millis(2500)), 0);
        assert_eq!(slots.peek(), Some(t0 + Duration::from_millis(2500)));
        // The burst at 3 s comes after the paced slots before it.
        let mut n = 0;
        while slots.peek().unwrap() < t0 + Duration::from_secs(3) {
            slots.take();
            n += 1;
        }
        assert_eq!(n, 50);
        assert_eq!(slots.take(), Some(t0 + Duration::from_secs(3)), "the paced slot at 3 s or the burst");
    }
}
