//! When a delayed or timer message is due, as the Java broker reads its properties.

use crate::protocol::properties;

/// The Java broker's `messageDelayLevel` default, in seconds: "1s 5s 10s 30s 1m 2m 3m 4m 5m
/// 6m 7m 8m 9m 10m 20m 30m 1h 2h".
pub const DELAY_LEVEL_SECS: [i64; 18] =
    [1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200];

/// `timerPrecisionMs`: a timer message's slot is its time rounded down to it (HookUtils).
const TIMER_PRECISION_MS: i64 = 1000;

/// When a message with these properties is due (Unix ms), stored at `now_ms`; None: at once.
/// As the Java broker reads them: a delay level (capped at the highest) wins over the timer
/// properties, TIMER_DELAY_SEC over TIMER_DELAY_MS over TIMER_DELIVER_MS.
pub fn due_ms(props: &str, now_ms: i64) -> Option<i64> {
    let num = |name: &str| properties::find(props, name).and_then(|v| v.trim().parse::<i64>().ok());
    if let Some(level) = num(properties::DELAY).filter(|l| *l > 0) {
        let i = (level.min(DELAY_LEVEL_SECS.len() as i64) - 1) as usize;
        return Some(now_ms + DELAY_LEVEL_SECS[i] * 1000);
    }
    // A client's numbers: saturating, never an overflow.
    let at = if let Some(s) = num(properties::TIMER_DELAY_SEC) {
        now_ms.saturating_add(s.saturating_mul(1000))
    } else if let Some(ms) = num(properties::TIMER_DELAY_MS) {
        now_ms.saturating_add(ms)
    } else {
        num(properties::TIMER_DELIVER_MS)?
    };
    if at <= now_ms {
        return None;
    }
    Some(if at % TIMER_PRECISION_MS == 0 {
        at - TIMER_PRECISION_MS
    } else {
        at / TIMER_PRECISION_MS * TIMER_PRECISION_MS
    })
}
