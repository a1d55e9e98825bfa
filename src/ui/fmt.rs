//! Small text helpers shared by the panels.

use std::time::Duration;

pub use super::app::{fmt_ms, fmt_secs};

/// `12,480`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A latency in ms for table cells: `0.41`, `12.3`, `3001`; `-` for none.
pub fn ms_cell(us: Option<u64>) -> String {
    match us {
        None => "-".into(),
        Some(us) => {
            let ms = us as f64 / 1000.0;
            if ms < 10.0 {
                format!("{ms:.2}")
            } else if ms < 100.0 {
                format!("{ms:.1}")
            } else {
                format!("{ms:.0}")
            }
        }
    }
}

/// A sparkline of per-second values on a log scale (latency spans decades); blank for no data.
pub fn sparkline(values: &[Option<u64>]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(us) => {
                // 10 µs … 10 s over 8 steps.
                let l = ((*us).max(1) as f64).log10();
                let i = (((l - 1.0) / 6.0) * 8.0).floor().clamp(0.0, 7.0) as usize;
                BARS[i]
            }
        })
        .collect()
}

/// `7.3 s` left of a window.
pub fn countdown(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 120.0 {
        format!("{:.0} min", (s / 60.0).ceil())
    } else {
        format!("{s:.1} s")
    }
}

/// Cuts `s` to `width` characters, with `…` when cut.
pub fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else if width == 0 {
        String::new()
    } else {
        let mut t: String = s.chars().take(width - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(count(0), "0");
        assert_eq!(count(12480), "12,480");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(ms_cell(Some(410)), "0.41");
        assert_eq!(ms_cell(Some(3_001_000)), "3001");
        assert_eq!(ms_cell(None), "-");
        assert_eq!(sparkline(&[Some(100), None, Some(3_000_000)]), "▂ █");
        assert_eq!(fit("broker-abcdef", 8), "broker-…");
        assert_eq!(countdown(Duration::from_millis(7300)), "7.3 s");
    }
}
