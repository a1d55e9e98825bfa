//! Admin commands: `mqtui route` (the cluster and a topic's route, as the name server has them)
//! and `mqtui topic create` (UPDATE_AND_CREATE_TOPIC on every master, as `mqadmin updateTopic -c`).

use std::time::Duration;

use serde::Serialize;

use crate::exit::{StartError, EXIT_FAILED, EXIT_OK};
use crate::protocol::route::{ClusterInfo, TopicRouteData, PERM_READ, PERM_WRITE};
use crate::remoting::codes::response_code_label;
use crate::remoting::{ConnectionPool, ExtFields, NameServers, RemotingCommand, RequestCode, ResponseCode};

const TIMEOUT: Duration = Duration::from_secs(3);

/// Sends `make()` to the name servers in turn until one answers.
async fn ask_namesrv(
    pool: &ConnectionPool,
    namesrvs: &[String],
    make: impl Fn() -> RemotingCommand,
) -> Result<RemotingCommand, StartError> {
    // Any reply is the answer (the caller reads its code); only unreachable ones are skipped.
    NameServers::new(namesrvs.to_vec(), pool.clone(), TIMEOUT)
        .ask(make, |_| true)
        .await
        .map(|(_, r)| r)
        .map_err(|failures| StartError::start(format!("no name server reachable: {}", failures.join("; "))))
}

async fn cluster_info(pool: &ConnectionPool, namesrvs: &[String]) -> Result<ClusterInfo, StartError> {
    let r = ask_namesrv(pool, namesrvs, || {
        RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO.code(), ExtFields::new())
    })
    .await?;
    if r.code != ResponseCode::SUCCESS.code() {
        return Err(StartError::start(format!(
            "the name server answered GET_BROKER_CLUSTER_INFO with {}: {}",
            response_code_label(r.code),
            r.remark.unwrap_or_default()
        )));
    }
    ClusterInfo::parse(&r.body).map_err(|e| StartError::start(e.to_string()))
}

/// The cluster and a topic's route, as the name server has them now.
#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    pub info: Option<ClusterInfo>,
    pub route: Option<TopicRouteData>,
    /// Why something is missing.
    pub error: Option<String>,
}

/// Reads the cluster and `topic`'s route (for the console's cluster view).
pub async fn fetch_view(pool: &ConnectionPool, namesrvs: &[String], topic: &str) -> ClusterView {
    let mut view = ClusterView::default();
    match cluster_info(pool, namesrvs).await {
        Ok(i) => view.info = Some(i),
        Err(e) => {
            view.error = Some(e.message);
            return view;
        }
    }
    let r = ask_namesrv(pool, namesrvs, || {
        RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC.code(), ExtFields::from_iter([("topic", topic)]))
    })
    .await;
    match r {
        Ok(r) if r.code == ResponseCode::SUCCESS.code() => match TopicRouteData::parse(&r.body) {
            Ok(route) => view.route = Some(route),
            Err(e) => view.error = Some(e.to_string()),
        },
        Ok(r) => {
            view.error =
                Some(format!("topic {topic}: {}: {}", response_code_label(r.code), r.remark.unwrap_or_default()))
        }
        Err(e) => view.error = Some(e.message),
    }
    view
}

/// `RW`, `R-`, `-W`, `--` (+ `I` inherit, `P` priority).
pub fn perm_text(perm: i32) -> String {
    let mut s = String::new();
    s.push(if perm & PERM_READ != 0 { 'R' } else { '-' });
    s.push(if perm & PERM_WRITE != 0 { 'W' } else { '-' });
    if perm & 1 != 0 {
        s.push('I');
    }
    if perm & 8 != 0 {
        s.push('P');
    }
    s
}

#[derive(Serialize)]
struct RouteReport<'a> {
    clusters: &'a ClusterInfo,
    topic: &'a str,
    route: Option<&'a TopicRouteData>,
    route_error: Option<String>,
}

/// `mqtui route`: prints the cluster and the topic's route; exit 0, or 3 when the name server
/// cannot be reached.
pub async fn route(
    namesrvs: &[String],
    topic: &str,
    json: bool,
    tls: Option<crate::remoting::tls::TlsClient>,
) -> Result<u8, StartError> {
    let pool = ConnectionPool::new().with_tls(tls);
    let info = cluster_info(&pool, namesrvs).await?;
    let r = ask_namesrv(&pool, namesrvs, || {
        RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC.code(), ExtFields::from_iter([("topic", topic)]))
    })
    .await?;
    let (route, route_error) = if r.code == ResponseCode::SUCCESS.code() {
        match TopicRouteData::parse(&r.body) {
            Ok(route) => (Some(route), None),
            Err(e) => (None, Some(e.to_string())),
        }
    } else {
        (None, Some(format!("{}: {}", response_code_label(r.code), r.remark.unwrap_or_default())))
    };
    if json {
        let report = RouteReport { clusters: &info, topic, route: route.as_ref(), route_error };
        crate::outln!("{}", serde_json::to_string_pretty(&report).map_err(|e| StartError::start(e.to_string()))?)
            .map_err(StartError::output)?;
        return Ok(EXIT_OK);
    }
    crate::outln!("name server {}", namesrvs.join(";")).map_err(StartError::output)?;
    for (cluster, brokers) in &info.cluster_addr_table {
        crate::outln!("cluster {cluster}").map_err(StartError::output)?;
        for b in brokers {
            let addrs = info.broker_addr_table.get(b).map(|d| {
                d.broker_addrs
                    .iter()
                    .map(|(id, a)| format!("{}{a}", if *id == 0 { "master " } else { "slave " }))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            crate::outln!("  {b:<16} {}", addrs.unwrap_or_else(|| "(no address)".into()))
                .map_err(StartError::output)?;
        }
    }
    crate::outln!("").map_err(StartError::output)?;
    match (&route, &route_error) {
        (Some(route), _) => {
            crate::outln!("topic {topic}").map_err(StartError::output)?;
            crate::outln!("  {:<16} {:>6} {:>6} {:>5}  master", "broker", "read", "write", "perm").map_err(StartError::output)?;
            let mut qds = route.queue_datas.clone();
            qds.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
            for q in &qds {
                crate::outln!(
                    "  {:<16} {:>6} {:>6} {:>5}  {}",
                    q.broker_name,
                    q.read_queue_nums,
                    q.write_queue_nums,
                    perm_text(q.perm),
                    route.master_addr(&q.broker_name).unwrap_or("(no master: not writable)")
                ).map_err(StartError::output)?;
            }
            let writable = route.publish_queues(topic).len();
            crate::outln!("  {writable} writable queue(s)").map_err(StartError::output)?;
        }
        (None, Some(e)) => crate::outln!("topic {topic}: no route ({e}); a broker may create it on first send if it auto-creates topics, or: mqtui topic create").map_err(StartError::output)?,
        _ => {}
    }
    Ok(EXIT_OK)
}

/// `mqtui topic create`: UPDATE_AND_CREATE_TOPIC (17) to the master of every broker of the
/// cluster (or of every cluster). Exit 0 when every broker said SUCCESS, 1 otherwise.
pub async fn create_topic(
    namesrvs: &[String],
    topic: &str,
    cluster: Option<&str>,
    queues: i32,
    perm: i32,
    acl: Option<crate::remoting::AclCredentials>,
    tls: Option<crate::remoting::tls::TlsClient>,
) -> Result<u8, StartError> {
    crate::protocol::message::validate_topic(topic).map_err(|e| StartError::config(e.to_string()))?;
    let pool = ConnectionPool::with_acl(acl).with_tls(tls);
    let info = cluster_info(&pool, namesrvs).await?;
    let mut brokers: Vec<&str> = match cluster {
        Some(c) => match info.cluster_addr_table.get(c) {
            Some(b) => b.iter().map(String::as_str).collect(),
            None => {
                let known: Vec<&str> = info.cluster_addr_table.keys().map(String::as_str).collect();
                return Err(StartError::config(format!("no cluster {c:?} (clusters: {})", known.join(", "))));
            }
        },
        None => info.broker_addr_table.keys().map(String::as_str).collect(),
    };
    brokers.sort();
    if brokers.is_empty() {
        return Err(StartError::start("the name server knows no broker"));
    }
    let mut failed = 0;
    for b in brokers {
        let Some(addr) = info.broker_addr_table.get(b).and_then(|d| d.master_addr()) else {
            crate::outln!("{b:<16} no master address: skipped").map_err(StartError::output)?;
            failed += 1;
            continue;
        };
        let header = ExtFields::from_iter([
            ("topic", topic.to_string()),
            ("defaultTopic", crate::protocol::send::AUTO_CREATE_TOPIC_KEY.to_string()),
            ("readQueueNums", queues.to_string()),
            ("writeQueueNums", queues.to_string()),
            ("perm", perm.to_string()),
            ("topicFilterType", "SINGLE_TAG".to_string()),
            ("topicSysFlag", "0".to_string()),
            ("order", "false".to_string()),
        ]);
        let mut req = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC.code(), header);
        pool.sign(&mut req);
        match pool.invoke(addr, req, TIMEOUT).await {
            Ok(r) if r.code == ResponseCode::SUCCESS.code() => {
                crate::outln!("{b:<16} {addr:<22} created {topic}: {queues} queues, perm {}", perm_text(perm))
                    .map_err(StartError::output)?
            }
            Ok(r) => {
                failed += 1;
                crate::outln!("{b:<16} {addr:<22} {}: {}", response_code_label(r.code), r.remark.unwrap_or_default())
                    .map_err(StartError::output)?;
            }
            Err(e) => {
                failed += 1;
                crate::outln!("{b:<16} {addr:<22} {e}").map_err(StartError::output)?;
            }
        }
    }
    Ok(if failed == 0 { EXIT_OK } else { EXIT_FAILED })
}
