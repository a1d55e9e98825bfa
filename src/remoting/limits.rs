//! What a server of mqtui's (the demo cluster's name server and brokers, the `--chaos` proxies)
//! lets a client hold: a connection cap, a bound on how long one frame may take to arrive, and a
//! bound on how long a connection may stay idle. A client that breaks one is closed (and
//! logged); the others are not affected.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::io::AsyncRead;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

use super::codec::RemotingCodec;
use super::command::RemotingCommand;
use super::error::CodecError;

/// A server's bounds on its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections open at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// A frame whose first bytes came must be whole within this.
    pub frame_timeout: Duration,
    /// A connection that brings no frame for this long is closed (the Java broker's
    /// `serverChannelMaxIdleTimeSeconds`, 120 s; a producer's heartbeat comes every 30 s).
    pub idle_timeout: Duration,
}

impl ServerLimits {
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
    pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            frame_timeout: Self::DEFAULT_FRAME_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// The read buffer a server connection starts with, and goes back to once it is quiet: an idle
/// connection costs little.
pub const SERVER_READ_BUFFER: usize = 1024;
/// The read buffer of a connection that brings frames (tokio-util's default): a smaller one
/// costs more reads and allocations per frame. It grows past this with the bytes that come.
pub const BUSY_READ_BUFFER: usize = 8 * 1024;

/// The connections a server holds, against its cap.
#[derive(Clone)]
pub struct ConnectionSlots {
    slots: Arc<Semaphore>,
    max: usize,
    refused: Arc<AtomicU64>,
}

impl ConnectionSlots {
    pub fn new(max: usize) -> Self {
        ConnectionSlots { slots: Arc::new(Semaphore::new(max)), max, refused: Arc::default() }
    }

    /// A slot for one more connection, or None at the cap (the caller closes it; logged once
    /// in a while, not for every refused connection).
    pub fn take(&self, who: &str, peer: std::net::SocketAddr) -> Option<OwnedSemaphorePermit> {
        match self.slots.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                let n = self.refused.fetch_add(1, Ordering::Relaxed);
                if n.is_power_of_two() || n == 0 {
                    tracing::warn!(%peer, max = self.max, refused = n + 1, "{who}: at its connection cap, connection closed");
                }
                None
            }
        }
    }

    /// Connections closed at the cap so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.max - self.slots.available_permits()
    }
}

/// Why a guarded read ended a connection.
#[derive(Debug)]
pub enum ReadEnd {
    /// The peer closed it.
    Eof,
    /// A malformed frame (or a read error).
    Bad(CodecError),
    /// A frame's bytes began and did not complete within the frame timeout.
    FrameTimeout(Duration),
    /// No frame for the idle timeout.
    Idle(Duration),
}

impl std::fmt::Display for ReadEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadEnd::Eof => f.write_str("closed by the peer"),
            ReadEnd::Bad(e) => write!(f, "malformed frame: {e}"),
            ReadEnd::FrameTimeout(d) => write!(f, "a frame did not complete within {} ms", d.as_millis()),
            ReadEnd::Idle(d) => write!(f, "idle for {} s", d.as_secs()),
        }
    }
}

/// Frames of one server connection, read under [`ServerLimits`]'s frame and idle timeouts. The
/// clock is looked at once every quarter of the frame timeout, not per frame: a frame costs no
/// timer.
pub struct GuardedFrames<R> {
    frames: FramedRead<R, RemotingCodec>,
    limits: ServerLimits,
    /// Wakes every `check` to look at the deadlines.
    tick: std::pin::Pin<Box<tokio::time::Sleep>>,
    check: Duration,
    /// Frames read so far, and how many there were at the last tick.
    read: u64,
    read_at_tick: u64,
    /// When a frame was last seen (to a tick's precision).
    last_frame: Instant,
}

impl<R: AsyncRead + Unpin> GuardedFrames<R> {
    pub fn new(read: R, limits: ServerLimits) -> Self {
        let check = (limits.frame_timeout / 4).max(Duration::from_millis(1));
        let now = Instant::now();
        GuardedFrames {
            frames: FramedRead::with_capacity(read, RemotingCodec::default(), SERVER_READ_BUFFER),
            limits,
            tick: Box::pin(tokio::time::sleep_until(now + check)),
            check,
            read: 0,
            read_at_tick: 0,
            last_frame: now,
        }
    }

    /// The next frame, or why the connection ends. A frame under way is noticed within a
    /// quarter of the frame timeout, so one that stalls is closed within 1.25 times it; an idle
    /// connection within its idle timeout and a quarter of the frame timeout.
    pub async fn next(&mut self) -> Result<RemotingCommand, ReadEnd> {
        loop {
            tokio::select! {
                // Frames first (no random pick each time): the tick is looked at only when none
                // is ready.
                biased;
                next = self.frames.next() => {
                    self.read += 1;
                    let buf = self.frames.read_buffer_mut();
                    if buf.capacity() <= SERVER_READ_BUFFER && buf.is_empty() {
                        *buf = bytes::BytesMut::with_capacity(BUSY_READ_BUFFER);
                    }
                    return match next {
                        Some(Ok(c)) => Ok(c),
                        Some(Err(e)) => Err(ReadEnd::Bad(e)),
                        None => Err(ReadEnd::Eof),
                    };
                }
                _ = &mut self.tick => {
                    let now = Instant::now();
                    let quiet = self.read == self.read_at_tick;
                    if !quiet {
                        self.read_at_tick = self.read;
                        self.last_frame = now;
                    }
                    match self.frames.decoder().partial_since() {
                        Some(since) if now >= since + self.limits.frame_timeout => {
                            return Err(ReadEnd::FrameTimeout(self.limits.frame_timeout))
                        }
                        None if now >= self.last_frame + self.limits.idle_timeout => {
                            return Err(ReadEnd::Idle(self.limits.idle_timeout))
                        }
                        _ => {}
                    }
                    // Quiet since the last tick: the buffer goes back to its first size.
                    let buf = self.frames.read_buffer_mut();
                    if quiet && buf.is_empty() && buf.capacity() > SERVER_READ_BUFFER {
                        *buf = bytes::BytesMut::with_capacity(SERVER_READ_BUFFER);
                    }
                    self.tick.as_mut().reset(now + self.check);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn limits() -> ServerLimits {
        ServerLimits {
            max_connections: 2,
            frame_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(10),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_frame_that_never_completes_is_cut_at_its_timeout() {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let mut frames = GuardedFrames::new(server, limits());
        // 16 MiB announced, a few bytes sent, then nothing.
        client.write_all(&[0, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2]).await.unwrap();
        let t0 = Instant::now();
        let end = frames.next().await.unwrap_err();
        assert!(matches!(end, ReadEnd::FrameTimeout(_)), "{end}");
        let took = t0.elapsed();
        assert!(took >= Duration::from_secs(2) && took <= Duration::from_millis(2500), "{took:?}");
        assert!(frames.frames.read_buffer().capacity() <= SERVER_READ_BUFFER * 2, "no room reserved for 16 MiB");
    }

    #[tokio::test(start_paused = true)]
    async fn slow_bytes_do_not_stretch_a_frame_and_idle_connections_close() {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let mut frames = GuardedFrames::new(server, limits());
        let t0 = Instant::now();
        assert!(matches!(frames.next().await.unwrap_err(), ReadEnd::Idle(_)));
        assert!(
            t0.elapsed() >= Duration::from_secs(10) && t0.elapsed() <= Duration::from_millis(10_600),
            "{:?}",
            t0.elapsed()
        );
        // One byte every 500 ms: each byte is progress, the frame is not.
        let (mut c2, s2) = tokio::io::duplex(1 << 20);
        let mut frames = GuardedFrames::new(s2, limits());
        let writer = tokio::spawn(async move {
            for b in [0u8, 0, 0, 100, 0, 0, 0, 2, b'{'] {
                if c2.write_all(&[b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        let t0 = Instant::now();
        assert!(matches!(frames.next().await.unwrap_err(), ReadEnd::FrameTimeout(_)));
        assert!(t0.elapsed() <= Duration::from_millis(2600), "{:?}", t0.elapsed());
        writer.abort();
        drop(client.shutdown().await);
    }

    #[test]
    fn slots_cap_connections() {
        let slots = ConnectionSlots::new(2);
        let peer: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
        let a = slots.take("test", peer).unwrap();
        let _b = slots.take("test", peer).unwrap();
        assert!(slots.take("test", peer).is_none());
        assert_eq!((slots.open(), slots.refused()), (2, 1));
        drop(a);
        assert!(slots.take("test", peer).is_some());
    }
}
