//! The flags of the offline commands: `report`, `compare`, `replay`.

use clap::Args;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The recording.
    pub file: std::path::PathBuf,
    /// Playback speed: 1, 10 or 100 (keys 1, 2, 3 while it plays).
    #[arg(long, default_value_t = 1, value_parser = parse_speed)]
    pub speed: u32,
    /// Colour theme: dark, light, high-contrast, or a TOML file.
    #[arg(long, env = "MQTUI_THEME", default_value = "dark")]
    pub theme: String,
    /// Redraws per second at most.
    #[arg(long, env = "MQTUI_FPS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub fps: u32,
}

fn parse_speed(s: &str) -> Result<u32, String> {
    match s.trim().trim_start_matches(['x', '×']) {
        "1" => Ok(1),
        "10" => Ok(10),
        "100" => Ok(100),
        _ => Err(format!("{s:?}: the speed is 1, 10 or 100")),
    }
}

/// Formats of `mqtui report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// The summary table, histogram and timeline as text.
    Text,
    /// Tables that paste into a ticket.
    Markdown,
    /// One row per run and per broker.
    Csv,
    /// Everything, as one JSON array of runs.
    Json,
    /// One self-contained page with charts.
    Html,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Recordings (`--record FILE`; .zst read as zstd).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The recording to compare against.
    pub base: std::path::PathBuf,
    /// The recording compared.
    pub new: std::path::PathBuf,
    /// Exit 4 when NEW is worse than BASE by more than this on the run's throughput,
    /// p50/p99/p99.9, service p99, failures, retries or behind schedule (10%, 0).
    #[arg(long, value_name = "PCT", value_parser = crate::report::compare::parse_pct)]
    pub max_regression: Option<f64>,
    /// text, markdown or json.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}
