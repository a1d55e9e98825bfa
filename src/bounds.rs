//! Bounds on what comes from outside through files and flags: how much of a file is read, and
//! the range of the numbers a run is given (durations, rates). Each is checked where the value
//! is parsed, so that nothing further on (a `Duration`, a schedule, an allocation) can overflow
//! or panic on it. Below every other module.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// A config, scenario or theme file (a few KB in practice).
pub const MAX_SETTINGS_FILE: u64 = 1 << 20;
/// A certificate or key file (PEM).
pub const MAX_PEM_FILE: u64 = 1 << 20;
/// A message body file (`--body-file`, the compose dialog): the Java client refuses bodies over
/// `maxMessageSize` (4 MiB by default, settable); this is far above any it accepts.
pub const MAX_BODY_FILE: u64 = 256 << 20;
/// An `--input` file of messages, one JSON object a line.
pub const MAX_INPUT_FILE: u64 = 1 << 30;
/// One line of an `--input` file or a recording.
pub const MAX_LINE: usize = 64 << 20;

/// The longest duration a flag or file may give (a run, a stage, a scenario time): a year.
pub const MAX_SECS: f64 = 366.0 * 24.0 * 3600.0;
/// The highest rate a flag or file may give, in messages a second (mqtui sends a few hundred
/// thousand a second on one core; a schedule finer than this is below a clock's resolution).
pub const MAX_RATE: f64 = 10_000_000.0;

/// The longest delay a message may be given (`--delay-ms`, `delay_ms`, the compose form's
/// `1500ms` / `10s`): 366 days, in ms (a Java broker refuses more than its `timerMaxDelaySec`,
/// 3 days by default; a longer one is sent, for its refusal to be seen).
pub const MAX_DELAY_MS: u64 = 366 * 24 * 3600 * 1000;
/// The latest delivery time (`--deliver-at`, `deliver_at_ms`, `@time`): before the year 10000.
pub const MAX_DELIVER_AT_MS: i64 = 253_402_300_800_000;

/// Reads the whole of `path` (or standard input for `-`, when `stdin_dash`), refusing one over
/// `max` bytes without reading further; `what` names it in the error.
pub fn read_limited(path: &Path, max: u64, what: &str) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    let got = if path.as_os_str() == "-" {
        std::io::stdin().lock().take(max + 1).read_to_end(&mut buf)
    } else {
        let f = std::fs::File::open(path).map_err(|e| format!("{what} {}: {e}", path.display()))?;
        f.take(max + 1).read_to_end(&mut buf)
    };
    got.map_err(|e| format!("{what} {}: {e}", path.display()))?;
    if buf.len() as u64 > max {
        return Err(format!("{what} {}: larger than {}, the most mqtui reads", path.display(), size(max)));
    }
    Ok(buf)
}

/// [`read_limited`] as UTF-8 text.
pub fn read_text_limited(path: &Path, max: u64, what: &str) -> Result<String, String> {
    let bytes = read_limited(path, max, what)?;
    String::from_utf8(bytes).map_err(|e| format!("{what} {}: not UTF-8 text: {e}", path.display()))
}

fn size(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n => format!("{n} bytes"),
    }
}

/// `secs` as a duration if it is a number of seconds from 0 to [`MAX_SECS`] (a year); `what`
/// names the value in the error.
pub fn secs(secs: f64, what: &str) -> Result<Duration, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{what}: {secs} is not a duration (0 or more seconds)"));
    }
    if secs > MAX_SECS {
        return Err(format!("{what}: {secs} s is more than a year"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `rate` if it is a number of messages a second from 0 to [`MAX_RATE`].
pub fn rate(rate: f64, what: &str) -> Result<f64, String> {
    if !rate.is_finite() || rate < 0.0 {
        return Err(format!("{what}: {rate} is not a rate (0 or more msg/s)"));
    }
    if rate > MAX_RATE {
        return Err(format!("{what}: {rate} msg/s is more than {MAX_RATE:.0} msg/s"));
    }
    Ok(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_out_of_range_are_errors_not_panics() {
        assert_eq!(secs(1.5, "at").unwrap(), Duration::from_millis(1500));
        for bad in [1e300, -1.0, f64::NAN, f64::INFINITY, MAX_SECS * 2.0] {
            assert!(secs(bad, "at").is_err(), "{bad}");
        }
        assert!(rate(1e15, "stage").unwrap_err().contains("more than 10000000"));
        assert!(rate(f64::NAN, "stage").is_err());
        assert_eq!(rate(0.0, "stage").unwrap(), 0.0);
    }

    #[test]
    fn files_are_read_up_to_their_bound() {
        let dir = std::env::temp_dir().join(format!("mqtui-bounds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        std::fs::write(&p, vec![b'x'; 100]).unwrap();
        assert_eq!(read_limited(&p, 100, "config").unwrap().len(), 100);
        let e = read_limited(&p, 99, "config").unwrap_err();
        assert!(e.contains("larger than 99 bytes"), "{e}");
        // /dev/zero never ends: read up to the bound, then refused.
        let e = read_limited(Path::new("/dev/zero"), MAX_SETTINGS_FILE, "scenario").unwrap_err();
        assert!(e.contains("larger than 1 MiB"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
