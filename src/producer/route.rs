//! Topic routes: looked up from the name servers once per topic however many sends wait for it
//! (single flight), refreshed in the background, with failover across name servers; and queue
//! selection over a route (`TopicPublishInfo`).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt, Shared};
use thiserror::Error;
use tokio::time::Instant;

use super::fault::{FaultTable, LatencyFaultTolerance};
use crate::protocol::route::{MessageQueue, TopicRouteData};
use crate::protocol::send::{AUTO_CREATE_TOPIC_KEY, DEFAULT_TOPIC_QUEUE_NUMS};
use crate::remoting::{ConnectionPool, ExtFields, NameServers, RemotingCommand, RequestCode, ResponseCode};

/// Why a topic has no route. Worded for an operator.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RouteError {
    #[error("no name server reachable: {0}")]
    NoNameServer(String),
    #[error("topic {topic} has no route on the name server ({detail}); the brokers may not auto-create topics: create it (mqadmin updateTopic) or check the name")]
    NoRoute { topic: String, detail: String },
    #[error("topic {0} has no writable queue (every queue's perm lacks WRITE, or no broker has a master)")]
    NoWritableQueue(String),
    #[error("route lookup for topic {0} did not finish within the send timeout")]
    Timeout(String),
}

/// The queues of one topic and where they live (`TopicPublishInfo`).
#[derive(Debug)]
pub struct TopicPublishInfo {
    pub topic: String,
    pub route: TopicRouteData,
    pub queues: Vec<MessageQueue>,
    /// Broker names as shared strings, in queue order, for events.
    pub brokers: Vec<Arc<str>>,
    /// Each broker's master address, shared (no allocation per send).
    masters: Vec<(Arc<str>, Arc<str>)>,
    /// `sendWhichQueue`.
    index: AtomicU32,
    /// Whether this came from the auto-create key topic (TBW102) because the topic had no route.
    pub from_default_topic: bool,
}

impl TopicPublishInfo {
    pub fn new(topic: &str, route: TopicRouteData, from_default_topic: bool) -> Self {
        Self::with_seed(topic, route, from_default_topic, None)
    }

    /// `seed` fixes where the round robin starts (reproducible tests); None: random, as Java.
    pub fn with_seed(topic: &str, route: TopicRouteData, from_default_topic: bool, seed: Option<u32>) -> Self {
        let queues = route.publish_queues(topic);
        let mut brokers: Vec<Arc<str>> = Vec::new();
        for q in &queues {
            if brokers.last().is_none_or(|b| **b != *q.broker_name) {
                brokers.push(q.broker_name.clone());
            }
        }
        let masters = brokers.iter().filter_map(|b| route.master_addr(b).map(|a| (b.clone(), Arc::from(a)))).collect();
        TopicPublishInfo {
            topic: topic.to_string(),
            route,
            queues,
            brokers,
            masters,
            index: AtomicU32::new(seed.unwrap_or_else(rand::random::<u32>) & 0x7FFF_FFFF),
            from_default_topic,
        }
    }

    /// The master address of `broker`, shared.
    /// Every broker with a master address, and that address.
    pub fn masters(&self) -> &[(Arc<str>, Arc<str>)] {
        &self.masters
    }

    pub fn master(&self, broker: &str) -> Option<&Arc<str>> {
        self.masters.iter().find(|(b, _)| **b == *broker).map(|(_, a)| a)
    }

    pub fn broker(&self, name: &str) -> Option<&Arc<str>> {
        self.brokers.iter().find(|b| ***b == *name)
    }

    fn next(&self) -> usize {
        let i = self.index.fetch_add(1, Ordering::Relaxed).wrapping_add(1) & 0x7FFF_FFFF;
        i as usize % self.queues.len()
    }

    /// `resetIndex`: reseed the round robin.
    pub fn reset_index(&self) {
        self.index.store(rand::random::<u32>() & 0x7FFF_FFFF, Ordering::Relaxed);
    }

    /// Plain round robin.
    pub fn select_any(&self) -> &MessageQueue {
        &self.queues[self.next()]
    }

    /// The next queue that passes `filter`, trying each queue once.
    pub fn select_where(&self, filter: impl Fn(&MessageQueue) -> bool) -> Option<&MessageQueue> {
        (0..self.queues.len()).map(|_| &self.queues[self.next()]).find(|q| filter(q))
    }

    /// Write queues of `broker` (`getQueueIdByBroker`), or None.
    pub fn write_queue_nums(&self, broker: &str) -> Option<i32> {
        self.route.queue_datas.iter().find(|q| q.broker_name == broker).map(|q| q.write_queue_nums)
    }

    /// The queue `SelectMessageQueueByHash` picks for `key`, whatever the fault items say.
    pub fn select_by_hash(&self, key: &str) -> Option<&MessageQueue> {
        if self.queues.is_empty() {
            return None;
        }
        self.queues.get(super::selector::hash_index(key, self.queues.len()))
    }

    /// Picks a queue as the Java client does (`MQFaultStrategy.selectOneMessageQueue`).
    pub fn select(
        &self,
        faults: &Mutex<LatencyFaultTolerance>,
        avoidance: bool,
        table: FaultTable,
        last_broker: Option<&str>,
        reset_index: bool,
        now: Instant,
    ) -> MessageQueue {
        let not_last = |q: &MessageQueue| last_broker.is_none_or(|l| *q.broker_name != *l);
        if !avoidance {
            // Java default: avoid only the broker that just failed.
            return self.select_where(not_last).unwrap_or_else(|| self.select_any()).clone();
        }
        match table {
            FaultTable::V5 => {
                if reset_index {
                    self.reset_index();
                }
                let f = faults.lock().unwrap();
                if let Some(q) = self.select_where(|q| f.is_available(&q.broker_name, now) && not_last(q)) {
                    return q.clone();
                }
                if let Some(q) = self.select_where(|q| f.is_reachable(&q.broker_name) && not_last(q)) {
                    return q.clone();
                }
                self.select_any().clone()
            }
            FaultTable::V4 => {
                let mut f = faults.lock().unwrap();
                let start = self.next();
                let n = self.queues.len();
                for i in 0..n {
                    let q = &self.queues[(start + i) % n];
                    if f.is_available(&q.broker_name, now) {
                        return q.clone();
                    }
                }
                if let Some(not_best) = f.pick_one_at_least(now) {
                    match self.write_queue_nums(&not_best) {
                        Some(nums) if nums > 0 => {
                            let mut q = self.select_any().clone();
                            q.broker_name = not_best.clone();
                            q.queue_id = (self.next() % nums as usize) as i32;
                            return q;
                        }
                        _ => f.remove(&not_best),
                    }
                }
                self.select_any().clone()
            }
        }
    }
}

type Lookup = Shared<BoxFuture<'static, Result<Arc<TopicPublishInfo>, RouteError>>>;

#[derive(Default)]
struct Entry {
    info: Option<Arc<TopicPublishInfo>>,
    inflight: Option<Lookup>,
}

/// Routes by topic, shared by all sends of a producer.
pub struct RouteCache {
    namesrvs: NameServers,
    lookups: AtomicU64,
    entries: Mutex<crate::FastMap<String, Entry>>,
    /// Fixed round-robin start for new routes (tests); None: random.
    pub seed: Option<u32>,
}

/// What a refresh found.
#[derive(Debug, Clone)]
pub enum Refreshed {
    Unchanged,
    Changed(Arc<TopicPublishInfo>),
    Failed(RouteError),
}

impl RouteCache {
    pub fn new(namesrvs: Vec<String>, pool: ConnectionPool, request_timeout: Duration) -> Self {
        RouteCache {
            namesrvs: NameServers::new(namesrvs, pool, request_timeout),
            lookups: AtomicU64::new(0),
            entries: Mutex::new(Default::default()),
            seed: None,
        }
    }

    /// GET_ROUTEINFO_BY_TOPIC requests sent so far.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    pub fn namesrvs(&self) -> &[String] {
        self.namesrvs.addrs()
    }

    /// The cached route, if any.
    pub fn cached(&self, topic: &str) -> Option<Arc<TopicPublishInfo>> {
        self.entries.lock().unwrap().get(topic).and_then(|e| e.info.clone())
    }

    pub fn topics(&self) -> Vec<String> {
        self.entries.lock().unwrap().iter().filter(|(_, e)| e.info.is_some()).map(|(t, _)| t.clone()).collect()
    }

    /// The route of `topic`: cached, or looked up once for every caller waiting on it.
    pub async fn get(self: &Arc<Self>, topic: &str) -> Result<Arc<TopicPublishInfo>, RouteError> {
        let lookup = {
            let mut map = self.entries.lock().unwrap();
            // A cached route costs one lookup and no allocation (this runs once per send).
            if let Some(info) = map.get(topic).and_then(|e| e.info.as_ref()) {
                return Ok(info.clone());
            }
            let entry = map.entry(topic.to_string()).or_default();
            match &entry.inflight {
                Some(l) => l.clone(),
                None => {
                    let l = self.clone().spawn_lookup(topic.to_string());
                    entry.inflight = Some(l.clone());
                    l
                }
            }
        };
        lookup.await
    }

    /// Starts one lookup as its own task, so that it completes even if the sends waiting on it
    /// give up; its result lands in the cache.
    fn spawn_lookup(self: Arc<Self>, topic: String) -> Lookup {
        let me = self.clone();
        let task = tokio::spawn(async move {
            let result = me.fetch_publish_info(&topic).await.map(Arc::new);
            let mut map = me.entries.lock().unwrap();
            let entry = map.entry(topic.clone()).or_default();
            entry.inflight = None;
            if let Ok(info) = &result {
                entry.info = Some(info.clone());
            }
            result
        });
        async move {
            task.await.unwrap_or_else(|e| Err(RouteError::NoNameServer(format!("route lookup task failed: {e}"))))
        }
        .boxed()
        .shared()
    }

    /// Looks `topic` up again; keeps the cached route when the name servers cannot be reached.
    pub async fn refresh(&self, topic: &str) -> Refreshed {
        match self.fetch_publish_info(topic).await {
            Ok(info) => {
                let mut map = self.entries.lock().unwrap();
                let entry = map.entry(topic.to_string()).or_default();
                let changed = entry.info.as_ref().is_none_or(|old| old.route != info.route);
                if changed {
                    let info = Arc::new(info);
                    entry.info = Some(info.clone());
                    Refreshed::Changed(info)
                } else {
                    Refreshed::Unchanged
                }
            }
            Err(e) => Refreshed::Failed(e),
        }
    }

    /// One GET_ROUTEINFO_BY_TOPIC, falling over to the next name server on a transport failure.
    /// `Ok(None)`: the name server says the topic does not exist.
    async fn fetch_route(&self, topic: &str) -> Result<Option<TopicRouteData>, RouteError> {
        if self.namesrvs.addrs().is_empty() {
            return Err(RouteError::NoNameServer("no name server address given".into()));
        }
        let make = || {
            self.lookups.fetch_add(1, Ordering::Relaxed);
            RemotingCommand::request(
                RequestCode::GET_ROUTEINFO_BY_TOPIC.code(),
                ExtFields::from_iter([("topic", topic)]),
            )
        };
        // A route, or the name server's word that the topic has none; any other reply: the next.
        let usable = |r: &RemotingCommand| {
            (r.code == ResponseCode::SUCCESS.code() && !r.body.is_empty())
                || r.code == ResponseCode::TOPIC_NOT_EXIST.code()
        };
        match self.namesrvs.ask(make, usable).await {
            Ok((_, r)) if r.code == ResponseCode::TOPIC_NOT_EXIST.code() => Ok(None),
            Ok((addr, r)) => TopicRouteData::parse(&r.body).map(Some).map_err(|e| RouteError::NoRoute {
                topic: topic.to_string(),
                detail: format!("name server {addr} sent a route mqtui refuses: {e}"),
            }),
            Err(failures) => Err(RouteError::NoNameServer(failures.join("; "))),
        }
    }

    /// `tryToFindTopicPublishInfo`: the topic's route; if it has none, the auto-create key
    /// topic's route with at most 4 queues per broker (the broker creates the topic on first send).
    async fn fetch_publish_info(&self, topic: &str) -> Result<TopicPublishInfo, RouteError> {
        let info = match self.fetch_route(topic).await? {
            Some(route) => TopicPublishInfo::with_seed(topic, route, false, self.seed),
            None => match self.fetch_route(AUTO_CREATE_TOPIC_KEY).await? {
                Some(mut route) => {
                    for q in &mut route.queue_datas {
                        let n = DEFAULT_TOPIC_QUEUE_NUMS.min(q.read_queue_nums);
                        q.read_queue_nums = n;
                        q.write_queue_nums = n;
                    }
                    TopicPublishInfo::with_seed(topic, route, true, self.seed)
                }
                None => {
                    return Err(RouteError::NoRoute {
                        topic: topic.to_string(),
                        detail: format!("TOPIC_NOT_EXIST, and no {AUTO_CREATE_TOPIC_KEY} route to auto-create it"),
                    })
                }
            },
        };
        if info.queues.is_empty() {
            return Err(RouteError::NoWritableQueue(topic.to_string()));
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::route::{BrokerData, QueueData};

    fn info(brokers: &[&str], queues: i32) -> TopicPublishInfo {
        let route = TopicRouteData {
            queue_datas: brokers
                .iter()
                .map(|b| QueueData {
                    broker_name: b.to_string(),
                    read_queue_nums: queues,
                    write_queue_nums: queues,
                    perm: 6,
                    topic_sys_flag: 0,
                })
                .collect(),
            broker_datas: brokers
                .iter()
                .map(|b| BrokerData {
                    broker_name: b.to_string(),
                    broker_addrs: [(0, format!("{b}:1"))].into_iter().collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        TopicPublishInfo::new("T", route, false)
    }

    #[test]
    fn round_robin_covers_every_queue() {
        let i = info(&["a", "b", "c"], 4);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..12 {
            let q = i.select_any();
            seen.insert((q.broker_name.clone(), q.queue_id));
        }
        assert_eq!(seen.len(), 12);
        assert_eq!(i.brokers.len(), 3);
    }

    #[test]
    fn selection_avoids_unavailable_and_last_brokers() {
        let now = Instant::now();
        let i = info(&["a", "b", "c"], 4);
        let f = Mutex::new(LatencyFaultTolerance::default());
        f.lock().unwrap().update(FaultTable::V5, &Arc::from("b"), Duration::ZERO, true, true, now);
        for _ in 0..50 {
            let q = i.select(&f, true, FaultTable::V5, None, false, now);
            assert_ne!(&*q.broker_name, "b");
            let q = i.select(&f, true, FaultTable::V5, Some("a"), false, now);
            assert_eq!(&*q.broker_name, "c");
            let q = i.select(&f, true, FaultTable::V4, None, false, now);
            assert_ne!(&*q.broker_name, "b");
            // Off: the fault table is ignored, only the last broker avoided.
            let q = i.select(&f, false, FaultTable::V5, Some("a"), false, now);
            assert_ne!(&*q.broker_name, "a");
        }
        // All unavailable: sends still go out.
        for b in ["a", "c"] {
            f.lock().unwrap().update(FaultTable::V5, &Arc::from(b), Duration::ZERO, true, true, now);
        }
        let q = i.select(&f, true, FaultTable::V5, Some("a"), false, now);
        assert_ne!(&*q.broker_name, "a", "reachable and not last");
        let _ = i.select(&f, true, FaultTable::V4, None, false, now);
    }
}
