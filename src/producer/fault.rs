//! Latency fault tolerance, as the Java client's `MQFaultStrategy` and
//! `LatencyFaultToleranceImpl`: a measured latency (or an isolation) maps to a window during
//! which the broker is "not available" and queue selection avoids it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// Which generation of the Java client's fault strategy to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum FaultTable {
    /// 4.9.x … 5.1.3: long windows (30 s … 10 min), windows set unconditionally, isolation = 10 min.
    #[serde(rename = "4x")]
    V4,
    /// 5.1.4 … master: short windows (2 s … 30 s), windows only move forward, isolation = 10 s.
    #[default]
    #[serde(rename = "5x")]
    V5,
}

impl FaultTable {
    pub const LATENCY_MAX_V4: [u64; 7] = [50, 100, 550, 1000, 2000, 3000, 15000];
    pub const NOT_AVAILABLE_V4: [u64; 7] = [0, 0, 30000, 60000, 120000, 180000, 600000];
    pub const LATENCY_MAX_V5: [u64; 7] = [50, 100, 550, 1800, 3000, 5000, 15000];
    pub const NOT_AVAILABLE_V5: [u64; 7] = [0, 0, 2000, 5000, 6000, 10000, 30000];

    /// (latencyMax, notAvailableDuration) in ms.
    pub fn tables(self) -> (&'static [u64; 7], &'static [u64; 7]) {
        match self {
            FaultTable::V4 => (&Self::LATENCY_MAX_V4, &Self::NOT_AVAILABLE_V4),
            FaultTable::V5 => (&Self::LATENCY_MAX_V5, &Self::NOT_AVAILABLE_V5),
        }
    }

    /// The latency recorded in place of the measured one when an attempt isolates its broker.
    pub fn isolation_latency(self) -> Duration {
        match self {
            FaultTable::V4 => Duration::from_millis(30_000),
            FaultTable::V5 => Duration::from_millis(10_000),
        }
    }

    /// `computeNotAvailableDuration`: the first row from the top whose latency bound is reached.
    pub fn not_available_duration(self, latency: Duration) -> Duration {
        let (max, dur) = self.tables();
        let ms = latency.as_millis() as u64;
        (0..max.len()).rev().find(|&i| ms >= max[i]).map_or(Duration::ZERO, |i| Duration::from_millis(dur[i]))
    }

    pub fn name(self) -> &'static str {
        match self {
            FaultTable::V4 => "4.x",
            FaultTable::V5 => "5.x",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "4x" | "4.x" | "4" | "v4" => Some(FaultTable::V4),
            "5x" | "5.x" | "5" | "v5" => Some(FaultTable::V5),
            _ => None,
        }
    }
}

impl fmt::Display for FaultTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `FaultItem`: what the producer knows about one broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultItem {
    pub broker: Arc<str>,
    /// The last latency recorded (the measured one, also for isolations).
    pub latency: Duration,
    /// Not available before this instant (`startTimestamp`).
    pub available_at: Instant,
    pub reachable: bool,
}

impl FaultItem {
    pub fn is_available(&self, now: Instant) -> bool {
        now >= self.available_at
    }
}

/// What one `updateFaultItem` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultUpdate {
    /// The window the table gave (zero: none).
    pub window: Duration,
    /// Whether the broker's not-available-until instant moved.
    pub moved: bool,
    pub item: FaultItem,
}

/// The fault table of one producer (`LatencyFaultToleranceImpl`).
#[derive(Debug, Default)]
pub struct LatencyFaultTolerance {
    items: crate::FastMap<Arc<str>, FaultItem>,
    /// `whichItemWorst` (4.x `pickOneAtLeast`).
    worst: u32,
}

impl LatencyFaultTolerance {
    /// `MQFaultStrategy.updateFaultItem(broker, latency, isolation, reachable)`; the caller skips it
    /// when fault avoidance is off, as the Java client does.
    pub fn update(
        &mut self,
        table: FaultTable,
        broker: &Arc<str>,
        latency: Duration,
        isolation: bool,
        reachable: bool,
        now: Instant,
    ) -> FaultUpdate {
        let looked_up = if isolation { table.isolation_latency() } else { latency };
        let window = table.not_available_duration(looked_up);
        let item = self.items.entry(broker.clone()).or_insert_with(|| FaultItem {
            broker: broker.clone(),
            latency,
            available_at: now,
            reachable: true,
        });
        item.latency = latency;
        item.reachable = reachable;
        let before = item.available_at;
        match table {
            // 4.x: startTimestamp = now + duration, unconditionally (a fast reply clears a window).
            FaultTable::V4 => item.available_at = now + window,
            // 5.x: the window only moves forward.
            FaultTable::V5 => {
                if !window.is_zero() && now + window > item.available_at {
                    item.available_at = now + window;
                }
            }
        }
        FaultUpdate { window, moved: item.available_at != before, item: item.clone() }
    }

    /// `isAvailable`: no item, or its window has passed.
    pub fn is_available(&self, broker: &str, now: Instant) -> bool {
        self.items.get(broker).is_none_or(|i| i.is_available(now))
    }

    /// `isReachable`: no item, or it was reachable when last updated.
    pub fn is_reachable(&self, broker: &str) -> bool {
        self.items.get(broker).is_none_or(|i| i.reachable)
    }

    pub fn item(&self, broker: &str) -> Option<&FaultItem> {
        self.items.get(broker)
    }

    pub fn items(&self) -> impl Iterator<Item = &FaultItem> {
        self.items.values()
    }

    pub fn remove(&mut self, broker: &str) {
        self.items.remove(broker);
    }

    /// 4.x `pickOneAtLeast`: among all items sorted (available first, then lower latency, then
    /// earlier window end), take one of the better half in turn.
    pub fn pick_one_at_least(&mut self, now: Instant) -> Option<Arc<str>> {
        let mut list: Vec<&FaultItem> = self.items.values().collect();
        if list.is_empty() {
            return None;
        }
        list.sort_by(|a, b| {
            b.is_available(now)
                .cmp(&a.is_available(now))
                .then(a.latency.cmp(&b.latency))
                .then(a.available_at.cmp(&b.available_at))
                .then(a.broker.cmp(&b.broker))
        });
        let half = list.len() / 2;
        if half == 0 {
            return Some(list[0].broker.clone());
        }
        self.worst = self.worst.wrapping_add(1);
        Some(list[(self.worst as usize & 0x7FFF_FFFF) % half].broker.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn tables_map_latency_to_windows_like_java() {
        let v5 = FaultTable::V5;
        for (lat, win) in [
            (0, 0),
            (49, 0),
            (99, 0),
            (549, 0),
            (550, 2000),
            (1799, 2000),
            (1800, 5000),
            (3000, 6000),
            (4999, 6000),
            (5000, 10000),
            (15000, 30000),
            (99999, 30000),
        ] {
            assert_eq!(v5.not_available_duration(ms(lat)), ms(win), "5.x {lat}");
        }
        let v4 = FaultTable::V4;
        for (lat, win) in [(549, 0), (550, 30000), (1000, 60000), (2000, 120000), (3000, 180000), (15000, 600000)] {
            assert_eq!(v4.not_available_duration(ms(lat)), ms(win), "4.x {lat}");
        }
        assert_eq!(v5.not_available_duration(v5.isolation_latency()), ms(10_000));
        assert_eq!(v4.not_available_duration(v4.isolation_latency()), ms(600_000));
        assert_eq!(FaultTable::parse("4x"), Some(FaultTable::V4));
        assert_eq!(FaultTable::parse("5.x"), Some(FaultTable::V5));
        assert_eq!(FaultTable::parse("6x"), None);
    }

    #[test]
    fn v5_windows_only_move_forward_v4_windows_are_overwritten() {
        let now = Instant::now();
        let b: Arc<str> = "broker-b".into();
        let mut f = LatencyFaultTolerance::default();
        let u = f.update(FaultTable::V5, &b, ms(3), true, true, now);
        assert_eq!(u.window, ms(10_000));
        assert!(u.moved);
        assert_eq!(u.item.latency, ms(3), "the measured latency is kept");
        assert!(!f.is_available("broker-b", now + ms(9_999)));
        assert!(f.is_available("broker-b", now + ms(10_000)));
        // A fast success does not clear a 5.x window.
        let u = f.update(FaultTable::V5, &b, ms(1), false, true, now + ms(1));
        assert!(!u.moved);
        assert!(!f.is_available("broker-b", now + ms(5_000)));
        // In 4.x it does.
        let mut g = LatencyFaultTolerance::default();
        g.update(FaultTable::V4, &b, ms(3), true, true, now);
        assert!(!g.is_available("broker-b", now + ms(599_999)));
        g.update(FaultTable::V4, &b, ms(1), false, true, now + ms(1));
        assert!(g.is_available("broker-b", now + ms(1)));
        assert!(f.is_available("broker-x", now), "no item: available");
        f.update(FaultTable::V5, &b, ms(1), true, false, now);
        assert!(!f.is_reachable("broker-b"));
    }

    #[test]
    fn pick_one_at_least_prefers_the_better_half() {
        let now = Instant::now();
        let mut f = LatencyFaultTolerance::default();
        for (name, lat) in [("a", 10), ("b", 700), ("c", 20), ("d", 3000)] {
            f.update(FaultTable::V4, &Arc::from(name), ms(lat), true, true, now);
        }
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..10 {
            seen.insert(f.pick_one_at_least(now).unwrap().to_string());
        }
        assert_eq!(seen, ["a", "c"].iter().map(|s| s.to_string()).collect());
        assert_eq!(LatencyFaultTolerance::default().pick_one_at_least(now), None);
    }
}
