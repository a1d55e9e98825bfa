//! Logs go to a file (never to the terminal a UI draws on): `$XDG_STATE_HOME/mqtui/mqtui.log`,
//! by default `~/.local/state/mqtui/mqtui.log`, or `MQTUI_LOG_DIR`.

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Where log files go.
pub fn log_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("MQTUI_LOG_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("mqtui");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".local/state/mqtui");
    }
    std::env::temp_dir().join("mqtui")
}

/// Starts logging to the file at `level`. Keep the guard alive until exit (it flushes).
pub fn init(level: &str) -> Result<WorkerGuard, String> {
    let filter = EnvFilter::try_new(level).map_err(|e| format!("bad --log-level {level:?}: {e}"))?;
    let dir = log_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create log directory {}: {e}", dir.display()))?;
    let appender = tracing_appender::rolling::never(&dir, "mqtui.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| format!("cannot start logging: {e}"))?;
    Ok(guard)
}
