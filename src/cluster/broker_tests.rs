//! The spec of `broker.rs`.

use super::*;

#[test]
fn due_times_as_the_java_broker_reads_them() {
    let p = |pairs: &[(&str, &str)]| properties::encode(pairs.iter().copied());
    let now = 1_000_000_500;
    assert_eq!(due_ms(&p(&[("DELAY", "2")]), now), Some(now + 5_000));
    assert_eq!(due_ms(&p(&[("DELAY", "99")]), now), Some(now + 7_200_000), "capped at level 18");
    assert_eq!(due_ms(&p(&[("DELAY", "3"), ("TIMER_DELAY_MS", "1")]), now), Some(now + 10_000), "the level wins");
    // Timers: rounded down to the 1 s precision, an exact second one precision earlier.
    assert_eq!(due_ms(&p(&[("TIMER_DELAY_MS", "3000")]), now), Some(1_000_003_000));
    assert_eq!(due_ms(&p(&[("TIMER_DELAY_SEC", "2")]), now), Some(1_000_002_000));
    assert_eq!(due_ms(&p(&[("TIMER_DELIVER_MS", "1000004000")]), now), Some(1_000_003_000));
    assert_eq!(due_ms(&p(&[("TIMER_DELIVER_MS", "5")]), now), None, "a time gone by: at once");
    assert_eq!(due_ms(&p(&[("KEYS", "k")]), now), None);
}

#[test]
fn the_key_window_finds_recent_repeats_and_stays_bounded() {
    let mut w = KeyWindow::new(4);
    assert!(w.insert(1));
    assert!(!w.insert(1));
    for k in 2..=4 {
        assert!(w.insert(k));
    }
    // 4 keys: rotated; 1..4 are still remembered in the previous generation.
    assert!(!w.insert(3));
    for k in 5..=8 {
        assert!(w.insert(k));
    }
    // Rotated again: 1..4 forgotten, 5..8 remembered.
    assert!(w.insert(1));
    assert!(!w.insert(6));
    for k in 100..10_000 {
        w.insert(k);
    }
    assert!(w.current.len() + w.previous.len() <= 8);
}
