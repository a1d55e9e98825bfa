//! The demo name server: routes for every topic (unless a fault removes it) and cluster info.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::broker::{not_supported, BrokerCore};
use super::fault::NameServerFault;
use crate::protocol::route::{BrokerData, ClusterInfo, QueueData, TopicRouteData, PERM_READ, PERM_WRITE};
use crate::remoting::server::{Handler, Reply};
use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};

/// `MQVersion.Version.V4_9_4.ordinal()`: clients from this version on get standard JSON.
const STANDARD_JSON_SINCE: i32 = 401;

pub(crate) struct NameServerCore {
    pub cluster: String,
    pub brokers: Vec<Arc<BrokerCore>>,
    pub fault: watch::Receiver<NameServerFault>,
    pub requests: Mutex<u64>,
}

impl NameServerCore {
    /// The brokers registered now (all but those a fault unregistered).
    fn registered(&self) -> impl Iterator<Item = &Arc<BrokerCore>> {
        let gone = self.fault.borrow().unregistered.clone();
        self.brokers.iter().filter(move |b| !gone.contains(&b.name))
    }

    fn broker_datas(&self) -> Vec<BrokerData> {
        self.registered()
            .map(|b| BrokerData {
                cluster: self.cluster.clone(),
                broker_name: b.name.clone(),
                broker_addrs: [(0, b.addr.lock().unwrap().to_string())].into_iter().collect(),
                zone_name: None,
                enable_acting_master: false,
            })
            .collect()
    }

    /// The route of any topic: every registered broker, `queues` read and write queues, perm RW.
    pub fn route(&self) -> TopicRouteData {
        TopicRouteData {
            order_topic_conf: None,
            queue_datas: self
                .registered()
                .map(|b| QueueData {
                    broker_name: b.name.clone(),
                    read_queue_nums: b.queues,
                    write_queue_nums: b.queues,
                    perm: PERM_READ | PERM_WRITE,
                    topic_sys_flag: 0,
                })
                .collect(),
            broker_datas: self.broker_datas(),
            filter_server_table: Default::default(),
        }
    }

    pub fn cluster_info(&self) -> ClusterInfo {
        let datas = self.broker_datas();
        ClusterInfo {
            cluster_addr_table: [(self.cluster.clone(), datas.iter().map(|b| b.broker_name.clone()).collect())]
                .into_iter()
                .collect(),
            broker_addr_table: datas.into_iter().map(|b| (b.broker_name.clone(), b)).collect(),
        }
    }
}

impl Handler for NameServerCore {
    fn handle(&self, req: RemotingCommand, _peer: SocketAddr) -> Reply {
        *self.requests.lock().unwrap() += 1;
        let fault = self.fault.borrow().clone();
        // Old clients get fastjson's bare numeric keys, as the Java name server answers them.
        let standard = req.version >= STANDARD_JSON_SINCE
            || req.ext_fields.get("acceptStandardJsonOnly").is_some_and(crate::remoting::java::parse_boolean);
        let resp = match RequestCode::from_code(req.code) {
            Some(RequestCode::GET_ROUTEINFO_BY_TOPIC) => match req.ext_fields.get("topic") {
                // The Java name server looks up a null topic and finds nothing.
                None => RemotingCommand::response_to(
                    &req,
                    ResponseCode::TOPIC_NOT_EXIST.code(),
                    Some(format!(
                        "No topic route info in name server for the topic: null{}",
                        crate::remoting::java::TOPIC_FAQ
                    )),
                ),
                Some(topic) if fault.topic_missing(topic) => RemotingCommand::response_to(
                    &req,
                    ResponseCode::TOPIC_NOT_EXIST.code(),
                    Some(format!(
                        "No topic route info in name server for the topic: {topic}{}",
                        crate::remoting::java::TOPIC_FAQ
                    )),
                ),
                Some(topic) => {
                    let mut route = self.route();
                    if fault.topic_read_only(topic) {
                        for q in &mut route.queue_datas {
                            q.perm = PERM_READ;
                        }
                    }
                    let body = if standard { route.to_json() } else { route.to_fastjson() };
                    RemotingCommand::response_to(&req, ResponseCode::SUCCESS.code(), None).with_body(body)
                }
            },
            Some(RequestCode::GET_BROKER_CLUSTER_INFO) => {
                // Always fastjson's bare keys: the Java name server encodes cluster info plainly
                // whatever the client's version (only routes follow the version).
                let body = self.cluster_info().to_fastjson();
                RemotingCommand::response_to(&req, ResponseCode::SUCCESS.code(), None).with_body(body)
            }
            _ => not_supported(&req),
        };
        if fault.latency.is_zero() {
            Reply::Now(resp)
        } else {
            Reply::After(fault.latency, resp)
        }
    }
}
