//! Recordings: a run's whole event stream as JSON lines (schema 1), zstd-compressed when the
//! file name ends in `.zst`. `--record FILE` writes one (console and `produce`); `mqtui report`,
//! `mqtui compare` and `mqtui replay` read them.
//!
//! The first line is `{"type":"run","v":1,…}` with the run's settings; then, in the order they
//! happened, `route`, `send` (a completed send with its attempts, all that the statistics and
//! every panel are built from), `fault` (a broker's not-available window set or moved),
//! `injection` (a fault injected on a demo broker or chaos proxy, as the console shows it),
//! `settings` (rate, in-flight limit, pause, load model), `warning` and `lagged` (events the
//! recorder missed, said so); the last line is `end`. Times are `t_ns`, microseconds since the
//! run's start (negative before it: the route looked up first).

pub mod read;
pub mod schema;
pub mod writer;

pub use read::{Reader, Recording};
pub use schema::Line;
pub use writer::Recorder;

/// The schema version of a recording's lines.
pub const RECORDING_VERSION: u32 = 1;
