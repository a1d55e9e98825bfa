//! Standard output and standard error as part of a command's result: every write is checked,
//! and one that fails is an error with a message (exit 5), never a panic and never silence.
//!
//! Rust's own `stdout()` reports a closed descriptor (EBADF) as success and `println!` panics
//! on a broken pipe; these write to the descriptors directly instead.

use std::io::{self, Write};
#[cfg(unix)]
use std::mem::ManuallyDrop;

/// Descriptor 1 or 2, unbuffered: callers gather what they write into one buffer first.
#[cfg(unix)]
pub struct Fd(ManuallyDrop<std::fs::File>);

#[cfg(unix)]
impl Fd {
    fn new(fd: i32) -> Fd {
        use std::os::unix::io::FromRawFd;
        // SAFETY: descriptors 1 and 2 belong to the process for its whole life; the File is
        // never dropped (ManuallyDrop), so it never closes them. If one is closed, writes fail
        // with EBADF, which is what is wanted here.
        Fd(ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) }))
    }
}

/// Descriptors 0, 1 and 2 that were closed when the process started (see [`guard_std_fds`]).
#[cfg(unix)]
static CLOSED_AT_START: [std::sync::atomic::AtomicBool; 3] = [const { std::sync::atomic::AtomicBool::new(false) }; 3];

/// Run first thing in `main`: tells which standard descriptors were closed when mqtui started
/// (`mqtui produce >&-`). The standard library has already put /dev/null on each (so that the
/// next file or socket opened does not take its place), opened read-write; a shell's `>/dev/null`
/// opens it write-only. Writes to one found so fail (EBADF), as they would have.
#[cfg(unix)]
pub fn guard_std_fds() {
    // SAFETY: stat of a path, and fstat and F_GETFL of descriptors 0-2; each only reads.
    unsafe {
        let mut null: libc::stat = std::mem::zeroed();
        if libc::stat(c"/dev/null".as_ptr(), &mut null) != 0 {
            return;
        }
        for fd in 0..3 {
            let mut st: libc::stat = std::mem::zeroed();
            if libc::fstat(fd, &mut st) != 0 {
                CLOSED_AT_START[fd as usize].store(true, std::sync::atomic::Ordering::Relaxed);
                continue;
            }
            let flags = libc::fcntl(fd, libc::F_GETFL);
            let is_null = (st.st_mode & libc::S_IFMT) == libc::S_IFCHR && st.st_rdev == null.st_rdev;
            if fd > 0 && is_null && flags >= 0 && (flags & libc::O_ACCMODE) == libc::O_RDWR {
                CLOSED_AT_START[fd as usize].store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

#[cfg(not(unix))]
pub fn guard_std_fds() {}

#[cfg(unix)]
impl Write for Fd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        use std::os::unix::io::AsRawFd;
        let fd = self.0.as_raw_fd();
        if (0..3).contains(&fd) && CLOSED_AT_START[fd as usize].load(std::sync::atomic::Ordering::Relaxed) {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        loop {
            match self.0.write(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Elsewhere: the standard library's handles (a closed descriptor is not told apart there).
#[cfg(not(unix))]
pub struct Fd(i32);

#[cfg(not(unix))]
impl Fd {
    fn new(fd: i32) -> Fd {
        Fd(fd)
    }
}

#[cfg(not(unix))]
impl Write for Fd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0 == 1 {
            io::stdout().write(buf)
        } else {
            io::stderr().write(buf)
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.0 == 1 {
            io::stdout().flush()
        } else {
            io::stderr().flush()
        }
    }
}

/// Standard output.
pub fn stdout() -> Fd {
    Fd::new(1)
}

/// Standard error.
pub fn stderr() -> Fd {
    Fd::new(2)
}

/// Writes `bytes` whole to standard output; the error is worded for the operator.
pub fn write_stdout(bytes: &[u8]) -> Result<(), String> {
    stdout().write_all(bytes).map_err(|e| describe("standard output", &e))
}

/// A line on standard error, or nothing if standard error itself cannot be written (there is
/// nowhere left to say so; the log has it).
pub fn warn(line: &str) {
    let mut s = String::with_capacity(line.len() + 1);
    s.push_str(line);
    s.push('\n');
    if let Err(e) = stderr().write_all(s.as_bytes()) {
        tracing::warn!(error = %e, line, "cannot write to standard error");
    }
}

/// `what: why`, with the usual causes named: a reader that went away, a full disk, a closed
/// descriptor.
pub fn describe(what: &str, e: &io::Error) -> String {
    let hint = match e.raw_os_error() {
        Some(libc::EPIPE) => " (the reader closed the pipe)",
        Some(libc::EBADF) => " (the descriptor is closed)",
        _ => "",
    };
    format!("cannot write to {what}: {e}{hint}")
}

/// Prints like `println!` to standard output, as an `Err(String)` when it cannot.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        let mut line = format!($($arg)*);
        line.push('\n');
        $crate::output::write_stdout(line.as_bytes())
    }};
}

/// Prints like `eprintln!` to standard error; never panics.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {{
        $crate::output::warn(&format!($($arg)*))
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_named() {
        let e = io::Error::from_raw_os_error(libc::EPIPE);
        assert!(describe("standard output", &e).contains("the reader closed the pipe"));
        let e = io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(describe("x", &e).starts_with("cannot write to x: "), "{}", describe("x", &e));
    }
}
