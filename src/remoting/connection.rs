//! The client side: a multiplexed connection that pipelines requests, matches responses by
//! opaque and fails each request on its own timeout; and a pool of them keyed by address.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::codec::FramedRead;

use super::codec::RemotingCodec;
use super::command::RemotingCommand;
use super::error::InvokeError;
pub(crate) use super::writer::write_batches;

/// Requests queued for the writer before `invoke` refuses (Java: 65535 async permits).
const OUTBOUND_QUEUE: usize = 65_536;
/// Bytes of frames queued for the writer before `invoke` refuses: a peer that reads nothing
/// would otherwise hold every body sent to it until the connection goes.
const OUTBOUND_BYTES: usize = 64 << 20;
/// A write that makes no progress for this long closes the connection (Java's
/// `clientChannelMaxIdleTimeSeconds`, 120: a channel neither read nor written is closed).
const CLIENT_WRITE_STALL: std::time::Duration = std::time::Duration::from_secs(120);

type Reply = Result<RemotingCommand, InvokeError>;

/// A frame for the writer, encoded by whoever queued it (a request retried or resent is encoded
/// again under a new opaque, never copied as a command).
struct Outbound {
    frame: Bytes,
    opaque: i32,
    /// Whether a caller waits for a response under this opaque.
    tracked: bool,
}

impl Outbound {
    fn untracked(cmd: &RemotingCommand) -> Outbound {
        Outbound { frame: cmd.encode_as(cmd.opaque), opaque: cmd.opaque, tracked: false }
    }
}

struct Shared {
    addr: String,
    pending: Mutex<crate::FastMap<i32, oneshot::Sender<Reply>>>,
    closed: AtomicBool,
    /// Who answers the requests the server sends on this connection.
    server_requests: Option<Arc<dyn ServerRequests>>,
    /// Whether any frame came (a peer that closes before its first reply may want TLS).
    received: AtomicBool,
    tls: bool,
    /// Bytes of the frames queued for the writer and not yet taken by it.
    queued: std::sync::atomic::AtomicUsize,
}

/// Answers requests a server sends on a client connection (a broker's CHECK_TRANSACTION_STATE
/// to the producer group it found in a heartbeat). Called on the connection's reader: it must
/// not block.
pub trait ServerRequests: Send + Sync + 'static {
    /// `addr`: the connection's peer. Returns the frames to write back on this connection (a
    /// response, or requests of its own such as a oneway END_TRANSACTION); None: not handled
    /// here (a request that wants an answer then gets REQUEST_CODE_NOT_SUPPORTED, as Java's
    /// remoting answers a code it has no processor for).
    fn handle(&self, addr: &str, request: &RemotingCommand) -> Option<Vec<RemotingCommand>>;
}

impl Shared {
    /// Counts `len` more bytes queued; false (nothing counted) past [`OUTBOUND_BYTES`].
    fn reserve(&self, len: usize) -> bool {
        if self.queued.fetch_add(len, Ordering::Relaxed) + len > OUTBOUND_BYTES {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Queues `o` for the writer, within both bounds; why not otherwise.
    fn enqueue(&self, tx: &mpsc::Sender<Outbound>, o: Outbound) -> Result<(), &'static str> {
        let len = o.frame.len();
        if !self.reserve(len) {
            return Err("64 MiB of requests queued, unwritten (the peer reads nothing?)");
        }
        tx.try_send(o).map_err(|e| {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            match e {
                mpsc::error::TrySendError::Full(_) => "too many requests queued",
                mpsc::error::TrySendError::Closed(_) => "connection writer stopped",
            }
        })
    }

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
        Self::connect_with(addr, timeout, None, None).await
    }

    /// [`Connection::connect`], with `server_requests` answering what the server asks, and a
    /// TLS session (its handshake within `timeout` too) when `tls` is given.
    pub async fn connect_with(
        addr: &str,
        timeout: Duration,
        server_requests: Option<Arc<dyn ServerRequests>>,
        tls: Option<&super::tls::TlsClient>,
    ) -> Result<Connection, InvokeError> {
        let start = tokio::time::Instant::now();
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
        let Some(tls) = tls else {
            let (read, write) = stream.into_split();
            return Ok(Connection::from_halves(addr.to_string(), read, write, server_requests, false));
        };
        let left = timeout.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, tls.connect(addr, stream)).await {
            Ok(Ok(s)) => {
                let (read, write) = tokio::io::split(s);
                Ok(Connection::from_halves(addr.to_string(), read, write, server_requests, true))
            }
            Ok(Err(why)) => Err(InvokeError::SendRequestFailed(why)),
            Err(_) => Err(InvokeError::SendRequestFailed(format!(
                "TLS with {addr} failed: no handshake within {} ms (a plain server, or a hung one?)",
                timeout.as_millis()
            ))),
        }
    }

    /// Wraps an established stream.
    pub fn from_stream(addr: String, stream: TcpStream) -> Connection {
        let (read, write) = stream.into_split();
        Self::from_halves(addr, read, write, None, false)
    }

    fn from_halves<R, W>(
        addr: String,
        read: R,
        write: W,
        server_requests: Option<Arc<dyn ServerRequests>>,
        tls: bool,
    ) -> Connection
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let shared = Arc::new(Shared {
            addr,
            pending: Mutex::new(Default::default()),
            closed: AtomicBool::new(false),
            server_requests,
            received: AtomicBool::new(false),
            tls,
            queued: Default::default(),
        });
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        let writer = tokio::spawn(write_loop(write, rx, shared.clone()));
        let frames = FramedRead::new(read, RemotingCodec::default());
        let reader = tokio::spawn(read_loop(frames, shared.clone(), tx.downgrade()));
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
        let fail_at = tokio::time::Instant::now() + timeout;
        self.invoke_until(cmd, fail_at, true).await.map_err(|e| match e {
            InvokeError::Timeout(_) => InvokeError::Timeout(timeout.as_millis() as u64),
            other => other,
        })
    }

    /// Sends `cmd` and waits for its response until `fail_at` (the Java async path's response
    /// scan decides that instant). If the peer closes the connection meanwhile, the request fails
    /// at once when `fail_fast`, or else waits on to `fail_at` and times out (Java 4.9.x has no
    /// `channelInactive`); any other close fails it at once.
    pub async fn invoke_until(
        &self,
        cmd: RemotingCommand,
        fail_at: tokio::time::Instant,
        fail_fast: bool,
    ) -> Result<RemotingCommand, InvokeError> {
        self.invoke_as_until(&cmd, cmd.opaque, fail_at, fail_fast).await
    }

    /// [`invoke_until`](Self::invoke_until) for `request` under `opaque` (the request is only
    /// read: a send's attempts all encode the one request).
    pub async fn invoke_as_until(
        &self,
        request: &RemotingCommand,
        opaque: i32,
        fail_at: tokio::time::Instant,
        fail_fast: bool,
    ) -> Result<RemotingCommand, InvokeError> {
        let begin = tokio::time::Instant::now();
        let frame = request.encode_as(opaque);
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.shared.pending.lock().unwrap();
            if self.is_closed() {
                return Err(InvokeError::SendRequestFailed(format!("connection to {} is closed", self.shared.addr)));
            }
            pending.insert(opaque, tx);
        }
        if let Err(why) = self.shared.enqueue(&self.tx, Outbound { frame, opaque, tracked: true }) {
            self.shared.pending.lock().unwrap().remove(&opaque);
            return Err(InvokeError::SendRequestFailed(format!("{}: {why}", self.shared.addr)));
        }
        let timed_out = || InvokeError::Timeout(fail_at.saturating_duration_since(begin).as_millis() as u64);
        match tokio::time::timeout_at(fail_at, rx).await {
            Ok(Ok(Err(InvokeError::ClosedByPeer(_)))) if !fail_fast => {
                tokio::time::sleep_until(fail_at).await;
                Err(timed_out())
            }
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(InvokeError::Closed(format!("connection to {} dropped", self.shared.addr))),
            Err(_) => {
                self.shared.pending.lock().unwrap().remove(&opaque);
                Err(timed_out())
            }
        }
    }

    /// Sends a oneway request (flag bit 1): no response is expected or waited for.
    pub fn send_oneway(&self, mut cmd: RemotingCommand) -> Result<(), InvokeError> {
        cmd.mark_oneway();
        if self.is_closed() {
            return Err(InvokeError::SendRequestFailed(format!("connection to {} is closed", self.shared.addr)));
        }
        self.shared.enqueue(&self.tx, Outbound::untracked(&cmd)).map_err(|why| {
            InvokeError::SendRequestFailed(format!("{}: cannot queue oneway request: {why}", self.shared.addr))
        })
    }

    /// Closes the connection: waiting requests fail as closed.
    pub fn close(&self) {
        self.shared.close("connection closed by client", InvokeError::Closed);
        for t in &self._tasks.0 {
            t.abort();
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(w: W, rx: mpsc::Receiver<Outbound>, shared: Arc<Shared>) {
    let s2 = shared.clone();
    let s3 = shared.clone();
    write_batches(
        w,
        rx,
        move |o, buf| {
            s3.queued.fetch_sub(o.frame.len(), Ordering::Relaxed);
            buf.extend_from_slice(&o.frame)
        },
        move |batch, e| {
            let msg = format!("write to {} failed: {e}", s2.addr);
            tracing::debug!("{msg}");
            {
                let mut pending = s2.pending.lock().unwrap();
                for o in batch.iter().filter(|o| o.tracked) {
                    if let Some(tx) = pending.remove(&o.opaque) {
                        let _ = tx.send(Err(InvokeError::SendRequestFailed(msg.clone())));
                    }
                }
            }
            s2.close(&msg, InvokeError::Closed);
        },
        Some(CLIENT_WRITE_STALL),
    )
    .await;
    // The writer ends when every handle is gone; nothing more can be sent.
    shared.closed.store(true, Ordering::SeqCst);
}

/// A request the server sent: its handler's frames, or REQUEST_CODE_NOT_SUPPORTED.
fn server_request(shared: &Shared, cmd: &RemotingCommand, out: &mpsc::WeakSender<Outbound>) {
    let frames = shared.server_requests.as_ref().and_then(|h| h.handle(&shared.addr, cmd));
    let frames = match frames {
        Some(f) => f,
        None if cmd.is_oneway() => {
            tracing::debug!(addr = %shared.addr, code = cmd.code, "oneway request from server ignored");
            return;
        }
        None => {
            tracing::debug!(addr = %shared.addr, code = cmd.code, "request from server not supported");
            // NettyRemotingAbstract.processRequestCommand: " request type N not supported".
            vec![RemotingCommand::response_to(
                cmd,
                super::ResponseCode::REQUEST_CODE_NOT_SUPPORTED.code(),
                Some(format!(" request type {} not supported", cmd.code)),
            )]
        }
    };
    let Some(tx) = out.upgrade() else { return };
    for f in frames {
        if let Err(why) = shared.enqueue(&tx, Outbound::untracked(&f)) {
            tracing::warn!(addr = %shared.addr, "cannot queue the answer to a server's request: {why}");
        }
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut frames: FramedRead<R, RemotingCodec>,
    shared: Arc<Shared>,
    out: mpsc::WeakSender<Outbound>,
) {
    let reason = loop {
        let next = frames.next().await;
        if matches!(next, Some(Ok(_))) && !shared.received.load(Ordering::Relaxed) {
            shared.received.store(true, Ordering::Relaxed);
        }
        match next {
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
            Some(Ok(cmd)) => server_request(&shared, &cmd, &out),
            Some(Err(e)) => {
                tracing::warn!(addr = %shared.addr, error = %e, "bad frame from peer, closing connection");
                break format!("bad frame from {}: {e}", shared.addr);
            }
            None => {
                let hint = if shared.received.load(Ordering::Relaxed) || shared.tls {
                    ""
                } else {
                    " before any reply (a server that takes TLS only closes plain connections so: --tls?)"
                };
                shared.close(&format!("connection to {} closed by peer{hint}", shared.addr), InvokeError::ClosedByPeer);
                return;
            }
        }
    };
    shared.close(&reason, InvokeError::Closed);
}

/// Connections by address, made on first use (one connect however many callers wait for it)
/// and made again when one has closed.
#[derive(Clone, Default)]
pub struct ConnectionPool {
    conns: Arc<tokio::sync::Mutex<crate::FastMap<String, Arc<tokio::sync::OnceCell<Connection>>>>>,
    /// ACL credentials every request is signed with, if any.
    signer: Option<Arc<super::acl::AclCredentials>>,
    /// Who answers the servers' requests on this pool's connections (set once, later).
    server_requests: Arc<std::sync::OnceLock<Arc<dyn ServerRequests>>>,
    /// TLS on every connection, but to the addresses in `plain`.
    tls: Option<Arc<super::tls::TlsClient>>,
    /// In-process endpoints reached without TLS (the `--chaos` proxies, which speak TLS on
    /// their way to the broker).
    plain: Arc<std::sync::RwLock<std::collections::HashSet<String>>>,
    /// Told the address of every connection this pool opens (set once, later): the Java
    /// client's `ChannelEventListener.onChannelActive`.
    on_open: Arc<std::sync::OnceLock<OnOpen>>,
}

/// What a pool calls with the address of each connection it opens.
pub type OnOpen = Box<dyn Fn(&str) + Send + Sync>;

impl ConnectionPool {
    pub fn new() -> Self {
        Self::default()
    }

    /// A pool whose requests are signed with `acl` (ACL 1.0), if given.
    pub fn with_acl(acl: Option<super::acl::AclCredentials>) -> Self {
        ConnectionPool { signer: acl.map(Arc::new), ..Default::default() }
    }

    /// The same pool with TLS on its connections.
    pub fn with_tls(mut self, tls: Option<super::tls::TlsClient>) -> Self {
        self.tls = tls.map(Arc::new);
        self
    }

    /// Connections to `addr` go without TLS (an in-process proxy that does TLS itself).
    pub fn mark_plain(&self, addr: &str) {
        if self.tls.is_some() && !self.plain.read().unwrap().contains(addr) {
            self.plain.write().unwrap().insert(addr.to_string());
        }
    }

    /// Who answers the requests servers send on connections made from now on (once; later
    /// calls are ignored).
    pub fn set_server_requests(&self, handler: Arc<dyn ServerRequests>) {
        let _ = self.server_requests.set(handler);
    }

    /// Who is told of each connection opened from now on (once; later calls are ignored).
    pub fn set_on_open(&self, on_open: OnOpen) {
        let _ = self.on_open.set(on_open);
    }

    /// Signs `cmd` when the pool has credentials (after its fields and body are final).
    pub fn sign(&self, cmd: &mut RemotingCommand) {
        if let Some(s) = &self.signer {
            s.sign(cmd);
        }
    }

    /// A live connection to `addr`, connecting within `timeout` if there is none.
    pub async fn get(&self, addr: &str, timeout: Duration) -> Result<Connection, InvokeError> {
        // The common case, a live connection and nobody else holding the map: no wait, and the
        // connect path (a large future: TCP, TLS) stays out of every send's future.
        if let Ok(map) = self.conns.try_lock() {
            if let Some(c) = map.get(addr).and_then(|cell| cell.get()).filter(|c| !c.is_closed()) {
                return Ok(c.clone());
            }
        }
        Box::pin(self.get_or_connect(addr, timeout)).await
    }

    async fn get_or_connect(&self, addr: &str, timeout: Duration) -> Result<Connection, InvokeError> {
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
        let handler = self.server_requests.get().cloned();
        let tls = self.tls.as_deref().filter(|_| !self.plain.read().unwrap().contains(addr));
        let conn = cell
            .get_or_try_init(|| async {
                let conn = Connection::connect_with(addr, timeout, handler, tls).await?;
                if let Some(on_open) = self.on_open.get() {
                    on_open(addr);
                }
                Ok(conn)
            })
            .await
            .cloned();
        if conn.is_err() {
            // Forget the failed attempt so the next caller tries again.
            let mut map = self.conns.lock().await;
            if map.get(addr).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                map.remove(addr);
            }
        }
        conn
    }

    /// A new connection to `addr` in place of `old` (after GO_AWAY): later callers get the new
    /// one; requests waiting on `old` still get their replies.
    pub async fn replace(&self, addr: &str, old: &Connection, timeout: Duration) -> Result<Connection, InvokeError> {
        {
            let mut map = self.conns.lock().await;
            let same = map.get(addr).and_then(|cell| cell.get()).is_some_and(|c| Arc::ptr_eq(&c.shared, &old.shared));
            if same {
                map.remove(addr);
            }
        }
        self.get(addr, timeout).await
    }

    /// Sends `cmd` to `addr` and waits for its response; connecting counts against `timeout`.
    /// Signed when the pool has credentials (Java's RPC hook signs every request, name server
    /// lookups included).
    pub async fn invoke(
        &self,
        addr: &str,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, InvokeError> {
        self.sign(&mut cmd);
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
