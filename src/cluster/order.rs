//! The demo cluster's check of ordered sends: per sharding key (`__SHARDINGKEY`), whether each
//! message was stored on the key's queue and after the key's earlier messages. A message whose
//! born timestamp (set when the client first built the request, kept by its retries) is older
//! than one stored before it on the same key came out of order: an async retry overtaken by a
//! later send. A message stored on another queue than the key's last moved (the route
//! changed, or the sender does not hash as Java does).
//!
//! Cluster-wide (a key may move between brokers), bounded: keys are kept in two generations of
//! [`ORDER_KEYS`], as the duplicate detector keeps UNIQ_KEYs.

use std::collections::HashMap;

/// Keys remembered per generation.
pub const ORDER_KEYS: usize = 1 << 18;

/// Where a key's last message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Last {
    broker: u8,
    queue: i32,
    born: i64,
}

/// What storing one ordered message found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The key's first message (within the window).
    First,
    /// On the key's queue, born no earlier than the key's last.
    InOrder,
    /// On the key's queue, born before a message of the key stored earlier.
    OutOfOrder,
    /// On another queue than the key's last message.
    Moved,
}

/// Per key hash, the last stored message.
pub(crate) struct OrderBook {
    current: HashMap<u64, Last>,
    previous: HashMap<u64, Last>,
    cap: usize,
}

impl OrderBook {
    pub(crate) fn new(cap: usize) -> Self {
        OrderBook { current: HashMap::new(), previous: HashMap::new(), cap: cap.max(1) }
    }

    /// Records a message of `key` stored on `broker`/`queue`, born at `born` (ms).
    pub(crate) fn record(&mut self, key: u64, broker: u8, queue: i32, born: i64) -> Seen {
        let last = self.current.get(&key).or_else(|| self.previous.get(&key)).copied();
        let seen = match last {
            None => Seen::First,
            Some(l) if (l.broker, l.queue) != (broker, queue) => Seen::Moved,
            Some(l) if born < l.born => Seen::OutOfOrder,
            Some(_) => Seen::InOrder,
        };
        // An overtaken message does not move the key's high-water mark back.
        let born = match (seen, last) {
            (Seen::OutOfOrder, Some(l)) => l.born,
            _ => born,
        };
        self.current.insert(key, Last { broker, queue, born });
        if self.current.len() >= self.cap {
            self.previous = std::mem::take(&mut self.current);
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_in_order_overtaken_and_moved() {
        let mut b = OrderBook::new(16);
        assert_eq!(b.record(1, 0, 3, 100), Seen::First);
        assert_eq!(b.record(1, 0, 3, 100), Seen::InOrder, "the same millisecond is in order");
        assert_eq!(b.record(1, 0, 3, 105), Seen::InOrder);
        assert_eq!(b.record(1, 0, 3, 101), Seen::OutOfOrder, "a retry stored after a later send");
        assert_eq!(b.record(1, 0, 3, 103), Seen::OutOfOrder, "still behind the key's latest (105)");
        assert_eq!(b.record(1, 1, 3, 110), Seen::Moved, "another broker");
        assert_eq!(b.record(1, 1, 2, 111), Seen::Moved, "another queue");
        assert_eq!(b.record(2, 1, 2, 1), Seen::First, "keys are apart");
    }

    #[test]
    fn memory_is_bounded() {
        let mut b = OrderBook::new(4);
        for k in 0..100 {
            b.record(k, 0, 0, 1);
        }
        assert!(b.current.len() + b.previous.len() <= 8);
        assert_eq!(b.record(99, 0, 0, 2), Seen::InOrder, "recent keys are remembered");
    }
}
