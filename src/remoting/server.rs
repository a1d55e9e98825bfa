//! The server side of the same codec: accept connections, decode requests, hand each to a
//! [`Handler`], write its reply (now, later, never) through a batching writer.
//!
//! A malformed frame closes the connection it came on, and only that one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::command::RemotingCommand;
use super::connection::write_batches;
use super::limits::{ConnectionSlots, GuardedFrames, ReadEnd, ServerLimits};

/// Replies queued on one server connection.
const SERVER_REPLY_QUEUE: usize = 1024;

/// What to do with one request.
#[derive(Debug)]
pub enum Reply {
    /// Write this response now.
    Now(RemotingCommand),
    /// Write this response after a delay (later requests on the connection are not held up).
    After(Duration, RemotingCommand),
    /// Read the request and never answer it (a hung broker, or a oneway request).
    Never,
    /// Close the connection without answering.
    Close,
}

/// Answers requests. Called on the connection's task: it must not block.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: RemotingCommand, peer: SocketAddr) -> Reply;

    /// The same, knowing when the connection was accepted (for faults that tell old
    /// connections from new ones).
    fn handle_on(&self, request: RemotingCommand, peer: SocketAddr, accepted: tokio::time::Instant) -> Reply {
        let _ = accepted;
        self.handle(request, peer)
    }

    /// A connection from `peer` was accepted; `channel` writes requests of the server's own to
    /// it (a broker's check-backs) while it lasts.
    fn opened(&self, peer: SocketAddr, channel: mpsc::Sender<RemotingCommand>) {
        let _ = (peer, channel);
    }

    /// The connection from `peer` ended.
    fn closed(&self, peer: SocketAddr) {
        let _ = peer;
    }
}

/// A listening server. Dropping the handle or calling [`ServerHandle::stop`] stops accepting and
/// closes every connection it accepted.
pub struct ServerHandle {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops listening and drops every connection.
    pub fn stop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Binds `addr` and serves requests with `handler` until stopped.
pub async fn listen(addr: SocketAddr, handler: Arc<dyn Handler>) -> std::io::Result<ServerHandle> {
    listen_with(addr, handler, None).await
}

/// [`listen`], every connection a TLS session when `tls` is given (`tls.server.mode=enforcing`:
/// a plain client fails its handshake and is dropped).
pub async fn listen_with(
    addr: SocketAddr,
    handler: Arc<dyn Handler>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> std::io::Result<ServerHandle> {
    listen_limited(addr, handler, tls, ServerLimits::default(), None).await
}

/// [`listen_with`] under `limits`; `slots` (shared by several listeners of one server, e.g. a
/// broker that listens again after going down) or slots of its own.
pub async fn listen_limited(
    addr: SocketAddr,
    handler: Arc<dyn Handler>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: ServerLimits,
    slots: Option<ConnectionSlots>,
) -> std::io::Result<ServerHandle> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let slots = slots.unwrap_or_else(|| ConnectionSlots::new(limits.max_connections));
    let task = tokio::spawn(accept_loop(listener, handler, stop_rx, tls, limits, slots));
    Ok(ServerHandle { addr: local, stop: stop_tx, task: Some(task) })
}

async fn accept_loop(
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    mut stop: watch::Receiver<bool>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: ServerLimits,
    slots: ConnectionSlots,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // At the cap: closed at once (dropped), before anything is kept for it.
                    let Some(slot) = slots.take("server", peer) else { continue };
                    let _ = stream.set_nodelay(true);
                    let (handler, stop) = (handler.clone(), stop.clone());
                    match &tls {
                        None => {
                            tokio::spawn(async move {
                                serve_connection_limited(stream, peer, handler, stop, limits).await;
                                drop(slot);
                            });
                        }
                        Some(acceptor) => {
                            let acceptor = acceptor.clone();
                            let handshake = limits.frame_timeout.min(Duration::from_secs(10));
                            tokio::spawn(async move {
                                let _slot = slot;
                                match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                                    Ok(Ok(s)) => {
                                        let (read, write) = tokio::io::split(s);
                                        serve_io(read, write, peer, handler, stop, limits).await;
                                    }
                                    Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake failed (a plain client?), connection dropped"),
                                    Err(_) => tracing::info!(%peer, ms = handshake.as_millis() as u64, "no TLS handshake in time, connection dropped"),
                                }
                            });
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}

/// Serves one connection until the peer closes, a frame is malformed, the handler says close,
/// or the server stops.
pub async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    handler: Arc<dyn Handler>,
    stop: watch::Receiver<bool>,
) {
    serve_connection_limited(stream, peer, handler, stop, ServerLimits::default()).await
}

/// [`serve_connection`], closing it when a frame stalls or it stays idle past `limits`.
pub async fn serve_connection_limited(
    stream: TcpStream,
    peer: SocketAddr,
    handler: Arc<dyn Handler>,
    stop: watch::Receiver<bool>,
    limits: ServerLimits,
) {
    let (read, write) = stream.into_split();
    serve_io(read, write, peer, handler, stop, limits).await
}

/// Serves one connection's halves (plain TCP or a TLS session).
async fn serve_io<R, W>(
    read: R,
    write: W,
    peer: SocketAddr,
    handler: Arc<dyn Handler>,
    mut stop: watch::Receiver<bool>,
    limits: ServerLimits,
) where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let accepted = tokio::time::Instant::now();
    // Replies waiting to be written: when full, requests wait to be read (a client that does
    // not read its replies is slowed, then closed when its writes stall).
    let (tx, rx) = mpsc::channel::<RemotingCommand>(SERVER_REPLY_QUEUE);
    let writer = tokio::spawn(write_batches(
        write,
        rx,
        |c: &RemotingCommand, buf| c.encode_into(buf),
        move |_, e| {
            tracing::info!(%peer, error = %e, "write to client failed, connection closed");
        },
        Some(limits.frame_timeout),
    ));
    let mut frames = GuardedFrames::new(read, limits);
    let mut delayed: Vec<JoinHandle<()>> = Vec::new();
    handler.opened(peer, tx.clone());
    loop {
        let next = tokio::select! {
            _ = stop.changed() => break,
            next = frames.next() => next,
        };
        let request = match next {
            Ok(c) => c,
            Err(ReadEnd::Eof) => break,
            Err(end) => {
                tracing::warn!(%peer, "{end}: closing this connection");
                break;
            }
        };
        if request.is_response() {
            tracing::debug!(%peer, opaque = request.opaque, "unexpected response from client, ignored");
            continue;
        }
        let oneway = request.is_oneway();
        match handler.handle_on(request, peer, accepted) {
            Reply::Now(_) | Reply::After(..) if oneway => {}
            Reply::Now(resp) => {
                if tx.send(resp).await.is_err() {
                    break;
                }
            }
            Reply::After(delay, resp) => {
                let tx = tx.clone();
                delayed.retain(|h| !h.is_finished());
                delayed.push(tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send(resp).await;
                }));
            }
            Reply::Never => {}
            Reply::Close => break,
        }
    }
    handler.closed(peer);
    for d in delayed {
        d.abort();
    }
    drop(tx);
    // Stop writing at once when asked to go down; otherwise let queued replies go out.
    if *stop.borrow() {
        writer.abort();
    } else {
        let _ = writer.await;
    }
}
