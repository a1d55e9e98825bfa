//! The client side: a multiplexed connection that pipelines requests, matches responses by
//! opaque and fails each request on its own timeout; and a pool of them keyed by address.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use futures::StreamExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::codec::FramedRead;

use super::codec::RemotingCodec;
use super::command::RemotingCommand;
use super::error::InvokeError;

/// At most this many bytes are gathered into one write.
const WRITE_BATCH_BYTES: usize = 256 * 1024;
/// Requests queued for the writer before `invoke` refuses (Java: 65535 async permits).
const OUTBOUND_QUEUE: usize = 65_536;

type Reply = Result<RemotingCommand, InvokeError>;

struct Outbound {
    cmd: RemotingCommand,
    /// Whether a caller waits for a response under this opaque.
    tracked: bool,
}

struct Shared {
    addr: String,
    pending: Mutex<HashMap<i32, oneshot::Sender<Reply>>>,
    closed: AtomicBool,
}

impl Shared {
    /// Marks the connection closed and fails every waiting request with `err(reason)`.
    fn close(&self, reason: &str, err: fn(String) -> InvokeError) {
        self.closed.store(true, Ordering::SeqCst);
        let drained: Vec<_> = self.pending.lock().unwrap().drain().collect();
        for (_, tx) in drained {
            let _ = tx.send(Err(err(reason.to_string())));
        }
    }
}

/// One TCP connection to a name server or broker. Cheap to clone; the tasks behind it stop when
/// the last clone is dropped or the peer closes.
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Outbound>,
    _tasks: Arc<Tasks>,
}

struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

impl Connection {
    /// Connects to `addr` (`host:port`) within `timeout`.
    pub async fn connect(addr: &str, timeout: Duration) -> Result<Connection, InvokeError> {
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(InvokeError::SendRequestFailed(format!("connect to {addr} failed: {e}"))),
            Err(_) => {
                return Err(InvokeError::SendRequestFailed(format!(
                    "connect to {addr} timed out after {} ms",
                    timeout.as_millis()
                )))
            }
        };
        let _ = stream.set_nodelay(true);
        Ok(Connection::from_stream(addr.to_string(), stream))
    }

    /// Wraps an established stream.
    pub fn from_stream(addr: String, stream: TcpStream) -> Connection {
        let (read, write) = stream.into_split();
        let shared = Arc::new(Shared { addr, pending: Mutex::new(HashMap::new()), closed: AtomicBool::new(false) });
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        let writer = tokio::spawn(write_loop(write, rx, shared.clone()));
        let reader = tokio::spawn(read_loop(FramedRead::new(read, RemotingCodec::default()), shared.clone()));
        Connection { shared, tx, _tasks: Arc::new(Tasks(vec![writer, reader])) }
    }

    pub fn addr(&self) -> &str {
        &self.shared.addr
    }

    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// Requests waiting for a response.
    pub fn in_flight(&self) -> usize {
        self.shared.pending.lock().unwrap().len()
    }

    /// Sends `cmd` and waits up to `timeout` for the response with the same opaque.
    pub async fn invoke(&self, cmd: RemotingCommand, timeout: Duration) -> Result<RemotingCommand, InvokeError> {
        let opaque = cmd.opaque;
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.shared.pending.lock().unwrap();
            if self.is_closed() {
                return Err(InvokeError::SendRequestFailed(format!("connection to {} is closed", self.shared.addr)));
            }
            pending.insert(opaque, tx);
        }
        if let Err(e) = self.tx.try_send(Outbound { cmd, tracked: true }) {
            self.shared.pending.lock().unwrap().remove(&opaque);
            let why = match e {
                mpsc::error::TrySendError::Full(_) => "too many requests queued",
                mpsc::error::TrySendError::Closed(_) => "connection writer stopped",
            };
            return Err(InvokeError::SendRequestFailed(format!("{}: {why}", self.shared.addr)));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(InvokeError::Unknown(format!("connection to {} dropped", self.shared.addr))),
            Err(_) => {
                self.shared.pending.lock().unwrap().remove(&opaque);
                Err(InvokeError::Timeout(timeout.as_millis() as u64))
            }
        }
    }

    /// Sends a oneway request (flag bit 1): no response is expected or waited for.
    pub fn send_oneway(&self, mut cmd: RemotingCommand) -> Result<(), InvokeError> {
        cmd.mark_oneway();
        if self.is_closed() {
            return Err(InvokeError::SendRequestFailed(format!("connection to {} is closed", self.shared.addr)));
        }
        self.tx
            .try_send(Outbound { cmd, tracked: false })
            .map_err(|_| InvokeError::SendRequestFailed(format!("{}: cannot queue oneway request", self.shared.addr)))
    }

    /// Closes the connection: waiting requests fail with "unknown reason: closed".
    pub fn close(&self) {
        self.shared.close("connection closed by client", InvokeError::Unknown);
        for t in &self._tasks.0 {
            t.abort();
        }
    }
}

/// Drains `rx` into `w`, gathering every queued command into one write (one syscall per batch,
/// not per frame).
pub(crate) async fn write_batches<W, T>(
    mut w: W,
    mut rx: mpsc::Receiver<T>,
    mut encode: impl FnMut(&T, &mut BytesMut),
    mut on_error: impl FnMut(&[T], std::io::Error),
) where
    W: AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut batch: Vec<T> = Vec::with_capacity(64);
    while let Some(first) = rx.recv().await {
        buf.clear();
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
        if let Err(e) = w.write_all(&buf).await {
            on_error(&batch, e);
            return;
        }
        batch.clear();
        if buf.capacity() > 4 * WRITE_BATCH_BYTES {
            buf = BytesMut::with_capacity(64 * 1024);
        }
    }
    let _ = w.shutdown().await;
}

async fn write_loop(w: tokio::net::tcp::OwnedWriteHalf, rx: mpsc::Receiver<Outbound>, shared: Arc<Shared>) {
    let s2 = shared.clone();
    write_batches(
        w,
        rx,
        |o, buf| o.cmd.encode_into(buf),
        move |batch, e| {
            let msg = format!("write to {} failed: {e}", s2.addr);
            tracing::debug!("{msg}");
            {
                let mut pending = s2.pending.lock().unwrap();
                for o in batch.iter().filter(|o| o.tracked) {
                    if let Some(tx) = pending.remove(&o.cmd.opaque) {
                        let _ = tx.send(Err(InvokeError::SendRequestFailed(msg.clone())));
                    }
                }
            }
            s2.close(&msg, InvokeError::Unknown);
        },
    )
    .await;
    // The writer ends when every handle is gone; nothing more can be sent.
    shared.closed.store(true, Ordering::SeqCst);
}

async fn read_loop(mut frames: FramedRead<tokio::net::tcp::OwnedReadHalf, RemotingCodec>, shared: Arc<Shared>) {
    let reason = loop {
        match frames.next().await {
            Some(Ok(cmd)) if cmd.is_response() => {
                let tx = shared.pending.lock().unwrap().remove(&cmd.opaque);
                match tx {
                    Some(tx) => {
                        let _ = tx.send(Ok(cmd));
                    }
                    None => {
                        tracing::debug!(addr = %shared.addr, opaque = cmd.opaque, "response for no waiting request (timed out?), dropped")
                    }
                }
            }
            Some(Ok(cmd)) => {
                tracing::debug!(addr = %shared.addr, ?cmd, "request from server ignored");
            }
            Some(Err(e)) => {
                tracing::warn!(addr = %shared.addr, error = %e, "bad frame from peer, closing connection");
                break format!("bad frame from {}: {e}", shared.addr);
            }
            None => break format!("connection to {} closed by peer", shared.addr),
        }
    };
    shared.close(&reason, InvokeError::Unknown);
}

/// Connections by address, made on first use (one connect however many callers wait for it)
/// and made again when one has closed.
#[derive(Clone, Default)]
pub struct ConnectionPool {
    conns: Arc<tokio::sync::Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Connection>>>>>,
    /// ACL credentials every request is signed with, if any.
    signer: Option<Arc<super::acl::AclCredentials>>,
}

impl ConnectionPool {
    pub fn new() -> Self {
        Self::default()
    }

    /// A pool whose requests are signed with `acl` (ACL 1.0), if given.
    pub fn with_acl(acl: Option<super::acl::AclCredentials>) -> Self {
        ConnectionPool { conns: Arc::default(), signer: acl.map(Arc::new) }
    }

    /// Signs `cmd` when the pool has credentials (after its fields and body are final).
    pub fn sign(&self, cmd: &mut RemotingCommand) {
        if let Some(s) = &self.signer {
            s.sign(cmd);
        }
    }

    /// A live connection to `addr`, connecting within `timeout` if there is none.
    pub async fn get(&self, addr: &str, timeout: Duration) -> Result<Connection, InvokeError> {
        let cell = {
            let mut map = self.conns.lock().await;
            // The common case, a live connection: no allocation.
            if let Some(c) = map.get(addr).and_then(|cell| cell.get()).filter(|c| !c.is_closed()) {
                return Ok(c.clone());
            }
            let cell = map.entry(addr.to_string()).or_default().clone();
            if cell.get().is_some_and(|c| c.is_closed()) {
                let fresh: Arc<tokio::sync::OnceCell<Connection>> = Arc::default();
                map.insert(addr.to_string(), fresh.clone());
                fresh
            } else {
                cell
            }
        };
        let conn = cell.get_or_try_init(|| Connection::connect(addr, timeout)).await.cloned();
        if conn.is_err() {
            // Forget the failed attempt so the next caller tries again.
            let mut map = self.conns.lock().await;
            if map.get(addr).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                map.remove(addr);
            }
        }
        conn
    }

    /// Sends `cmd` to `addr` and waits for its response; connecting counts against `timeout`.
    pub async fn invoke(
        &self,
        addr: &str,
        cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, InvokeError> {
        let start = tokio::time::Instant::now();
        let conn = self.get(addr, timeout).await?;
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(InvokeError::Timeout(timeout.as_millis() as u64));
        }
        conn.invoke(cmd, left).await
    }

    /// Drops the connection to `addr`, if any.
    pub async fn close(&self, addr: &str) {
        if let Some(cell) = self.conns.lock().await.remove(addr) {
            if let Some(c) = cell.get() {
                c.close();
            }
        }
    }
}
