//! A set of name servers asked in turn: the one that answered last is asked first, the others
//! when it cannot be reached (the Java client's `namesrvAddrChoosed` failover). Used by the
//! producer's route lookups and by the admin commands alike.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{ConnectionPool, RemotingCommand};

pub struct NameServers {
    addrs: Vec<String>,
    pool: ConnectionPool,
    timeout: Duration,
    /// The name server that answered last (failover starts there).
    current: AtomicUsize,
}

impl NameServers {
    /// Starts with a random one, as the Java client does, so clients spread over them.
    pub fn new(addrs: Vec<String>, pool: ConnectionPool, timeout: Duration) -> Self {
        let start = if addrs.is_empty() { 0 } else { rand::random::<usize>() % addrs.len() };
        NameServers { addrs, pool, timeout, current: AtomicUsize::new(start) }
    }

    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    pub fn pool(&self) -> &ConnectionPool {
        &self.pool
    }

    /// Sends `make()` to each name server in turn until one answers with a reply `usable`
    /// accepts: that name server and its reply. Otherwise every failure, one line per name
    /// server (`addr: error`, or `addr answered CODE: remark` for a reply not usable).
    pub async fn ask(
        &self,
        make: impl Fn() -> RemotingCommand,
        usable: impl Fn(&RemotingCommand) -> bool,
    ) -> Result<(&str, RemotingCommand), Vec<String>> {
        let n = self.addrs.len();
        if n == 0 {
            return Err(vec!["no name server address given".to_string()]);
        }
        let first = self.current.load(Ordering::Relaxed) % n;
        let mut failures = Vec::new();
        for k in 0..n {
            let i = (first + k) % n;
            let addr = &self.addrs[i];
            match self.pool.invoke(addr, make(), self.timeout).await {
                Ok(reply) if usable(&reply) => {
                    self.current.store(i, Ordering::Relaxed);
                    return Ok((addr, reply));
                }
                Ok(reply) => failures.push(format!(
                    "{addr} answered {}{}",
                    super::codes::response_code_label(reply.code),
                    reply.remark.map(|r| format!(": {r}")).unwrap_or_default()
                )),
                Err(e) => failures.push(format!("{addr}: {e}")),
            }
        }
        Err(failures)
    }
}
