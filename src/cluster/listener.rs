//! A server that can be taken down (stop listening, drop connections) and brought back up on
//! the same address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::remoting::limits::{ConnectionSlots, ServerLimits};
use crate::remoting::server::{listen_limited, Handler, ServerHandle};

/// Binds `addr` now (so a port in use is an error at start), then follows `down`: true stops the
/// server and drops its connections, false listens again on the same address.
pub(crate) async fn supervise(
    addr: SocketAddr,
    handler: Arc<dyn Handler>,
    mut down: watch::Receiver<bool>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: ServerLimits,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    // One cap across the listener's lives (a server that goes down drops its connections).
    let slots = ConnectionSlots::new(limits.max_connections);
    let first = listen_limited(addr, handler.clone(), tls.clone(), limits, Some(slots.clone())).await?;
    let local = first.local_addr();
    let task = tokio::spawn(async move {
        let mut server: Option<ServerHandle> = Some(first);
        loop {
            let want_down = *down.borrow_and_update();
            match (want_down, server.is_some()) {
                (true, true) => {
                    if let Some(mut s) = server.take() {
                        s.stop();
                    }
                    tracing::info!(%local, "listener down");
                }
                (false, false) => {
                    match listen_limited(local, handler.clone(), tls.clone(), limits, Some(slots.clone())).await {
                        Ok(s) => {
                            tracing::info!(%local, "listener up");
                            server = Some(s);
                        }
                        Err(e) => {
                            tracing::warn!(%local, error = %e, "cannot listen again yet, retrying");
                            tokio::select! {
                                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                                r = down.changed() => if r.is_err() { return },
                            }
                            continue;
                        }
                    }
                }
                _ => {}
            }
            if down.changed().await.is_err() {
                return;
            }
        }
    });
    Ok((local, task))
}
