//! The exit codes of every command (a contract) and the error that ends a command before it
//! does anything; below every command's module.

/// Exit codes (a contract): 0 nothing failed, 1 some sends failed, 2 bad flags or config,
/// 3 could not start (no name server, no route, a port in use), 4 a threshold failed, 5 an
/// output could not be written.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_CONFIG: u8 = 2;
pub const EXIT_START: u8 = 3;
/// A `--threshold` (or a scenario's `[[threshold]]`) failed; it wins over 1.
pub const EXIT_THRESHOLD: u8 = 4;
/// An output could not be written (standard output closed, a pipe whose reader went away, a
/// full disk, the `--record` file): the results are not where they were asked for. It wins over
/// every other code but 2 and 3 (which end a command before it sends).
pub const EXIT_OUTPUT: u8 = 5;

/// An error that ends the command before it sends anything.
#[derive(Debug)]
pub struct StartError {
    pub code: u8,
    pub message: String,
}

impl StartError {
    pub fn config(message: impl Into<String>) -> Self {
        StartError { code: EXIT_CONFIG, message: message.into() }
    }
    pub fn start(message: impl Into<String>) -> Self {
        StartError { code: EXIT_START, message: message.into() }
    }
    /// An output that cannot be written (exit 5).
    pub fn output(message: impl Into<String>) -> Self {
        StartError { code: EXIT_OUTPUT, message: message.into() }
    }
}
