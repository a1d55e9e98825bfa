//! Where the producer connects for a broker address: the route's address, or another one put in
//! front of it (`--chaos` proxies). Below both the producer, which asks, and the proxies, which
//! answer, so that neither imports the other.

use futures::future::BoxFuture;

/// Maps a broker address from the route to the address to connect to.
pub trait AddrMap: std::fmt::Debug + Send + Sync {
    fn map(&self, addr: &str) -> Option<String>;

    /// A topic's route changed (a broker joined, or moved): `brokers` are its (name, master
    /// address) pairs. The producer awaits this before it emits the change, so that a map can
    /// cover new brokers. Default: nothing to do.
    fn route_changed(&self, _brokers: Vec<(String, String)>) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}
