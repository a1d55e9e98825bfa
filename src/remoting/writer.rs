//! The writing half of every connection, client or server: queued frames gathered into one
//! write (one syscall per batch, not per frame).

use bytes::BytesMut;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// At most this many bytes are gathered into one write.
const WRITE_BATCH_BYTES: usize = 256 * 1024;
/// A write buffer larger than this is given back when the queue is empty.
const IDLE_WRITE_BUFFER: usize = 16 * 1024;

/// Drains `rx` into `w`, gathering every queued command into one write (one syscall per batch,
/// not per frame). With `stall`, a write that makes no progress for that long fails (a peer that
/// stopped reading: a server closes it rather than hold its replies for ever); the timer starts
/// only when a write has to wait.
pub(crate) async fn write_batches<W, T>(
    mut w: W,
    mut rx: mpsc::Receiver<T>,
    mut encode: impl FnMut(&T, &mut BytesMut),
    mut on_error: impl FnMut(&[T], std::io::Error),
    stall: Option<std::time::Duration>,
) where
    W: AsyncWrite + Unpin,
{
    // Grown by the first batch, not before: an idle connection keeps no write buffer.
    let mut buf = BytesMut::new();
    let mut batch: Vec<T> = Vec::new();
    // The last batch's size: a buffer made anew starts there (no doubling through a burst).
    let mut last = 0usize;
    while let Some(first) = rx.recv().await {
        buf.clear();
        buf.reserve(last);
        encode(&first, &mut buf);
        batch.push(first);
        while buf.len() < WRITE_BATCH_BYTES {
            match rx.try_recv() {
                Ok(next) => {
                    encode(&next, &mut buf);
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        let written = {
            let mut write = std::pin::pin!(w.write_all(&buf));
            match (futures::poll!(write.as_mut()), stall) {
                (std::task::Poll::Ready(r), _) => r,
                (std::task::Poll::Pending, None) => write.await,
                (std::task::Poll::Pending, Some(d)) => match tokio::time::timeout(d, write).await {
                    Ok(r) => r,
                    Err(_) => Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("the peer read nothing for {} ms", d.as_millis()),
                    )),
                },
            }
        };
        if let Err(e) = written {
            on_error(&batch, e);
            return;
        }
        last = buf.len().min(WRITE_BATCH_BYTES);
        batch.clear();
        // Nothing more queued: a buffer grown for a burst is given back while the connection
        // is quiet.
        if buf.capacity() > 4 * WRITE_BATCH_BYTES || (buf.capacity() > IDLE_WRITE_BUFFER && rx.is_empty()) {
            buf = BytesMut::new();
        }
    }
    let _ = w.shutdown().await;
}
