//! mqtui against Apache RocketMQ itself (the Java name server and brokers, 5.3.x, from Maven
//! Central; scripts/test starts them with scripts/apache-rocketmq): what mqtui sends is read back
//! with the Java consumer and must equal what mqtui reported, and mqtui's view of the route must
//! equal mqadmin's. Without MQTUI_APACHE_NAMESRV these say so and pass, except under CI=true.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use common::{apache, create_topic};
use serde_json::Value;

fn mqtui(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mqtui"));
    c.args(args).env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"));
    c
}

/// The tests of this file one at a time: on 2 cores, the ACL test's two JVMs starting beside the
/// other tests' sends made a fresh Java broker refuse a send now and then.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn topic(name: &str) -> String {
    format!("Mqtui{name}{}", std::process::id())
}

/// One message as mqtui reported it stored.
#[derive(Debug)]
struct Stored {
    msg_id: String,
    broker: String,
    queue: i64,
    queue_offset: i64,
    /// The send it was part of (a batch has several members).
    send: u64,
}

/// What mqtui said it stored, by offset msgId (the broker's own id of a stored message).
fn produce(namesrv: &str, topic: &str, args: &[&str]) -> HashMap<String, Stored> {
    let mut a = vec!["produce", "--namesrv", namesrv, "--topic", topic, "--output", "jsonl"];
    a.extend_from_slice(args);
    let o = mqtui(&a).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&o.stderr),
        stdout.lines().last().unwrap_or("")
    );
    let mut stored = HashMap::new();
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["type"] != "result" {
            continue;
        }
        assert_eq!(v["status"], "SEND_OK", "{v}");
        let ids: Vec<&str> = v["msg_id"].as_str().unwrap().split(',').collect();
        let offset_ids: Vec<&str> = v["offset_msg_id"].as_str().unwrap().split(',').collect();
        assert_eq!(ids.len(), offset_ids.len(), "{v}");
        for (i, (id, off)) in ids.iter().zip(&offset_ids).enumerate() {
            let s = Stored {
                msg_id: id.to_string(),
                broker: v["broker"].as_str().unwrap().to_string(),
                queue: v["queue"].as_i64().unwrap(),
                queue_offset: v["queue_offset"].as_i64().unwrap() + i as i64,
                send: v["send"].as_u64().unwrap(),
            };
            assert!(stored.insert(off.to_string(), s).is_none(), "offset msgId {off} reported twice");
        }
    }
    stored
}

/// Every message of `topic`, read back by the Java consumer, by offset msgId.
fn read_back(namesrv: &str, topic: &str) -> HashMap<String, Value> {
    let o = apache::java("5.3.3", "ReadBack.java", &[namesrv, topic]);
    let lines = apache::json_lines(&o);
    let done =
        lines.last().unwrap_or_else(|| panic!("ReadBack printed nothing: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(done["done"], true, "{}", String::from_utf8_lossy(&o.stderr));
    let mut msgs: HashMap<String, Value> = HashMap::new();
    for m in &lines[..lines.len() - 1] {
        if let Some(before) = msgs.insert(m["offset_msg_id"].as_str().unwrap().to_string(), m.clone()) {
            panic!("{topic}: stored twice at one offset:\n{before}\n{m}");
        }
    }
    assert_eq!(msgs.len() as u64, done["messages"].as_u64().unwrap());
    msgs
}

/// mqtui's synthetic body of `size` bytes.
fn body(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

/// What a topic should hold.
struct Expect<'a> {
    size: usize,
    tag: &'a str,
    keys: Option<&'a str>,
    props: &'a [(&'a str, &'a str)],
}

/// The Java consumer reads back exactly what mqtui reported: every message where mqtui said
/// (broker, queue, queue offset, offset msgId), nothing else, each with mqtui's body, tags, keys
/// and properties, and with UNIQ_KEY = the msgId mqtui reported. A batch's members all carry the
/// batch's own UNIQ_KEY instead: the Java broker appends the batch's properties to each member
/// (`MessageExtEncoder.encode(MessageExtBatch)`), and the Java client sets one on the batch
/// (`DefaultMQProducer.batch`), as mqtui does; the Java client's batches read back the same.
fn check_read_back(namesrv: &str, topic: &str, sent: &HashMap<String, Stored>, want: Expect<'_>) {
    let got = read_back(namesrv, topic);
    assert_eq!(got.len(), sent.len(), "{topic}: stored {} of {} sent", got.len(), sent.len());
    let want_body = body(want.size);
    let mut brokers = std::collections::BTreeSet::new();
    let mut batch_keys: HashMap<u64, (String, usize)> = HashMap::new();
    for (offset_id, s) in sent {
        let m = got.get(offset_id).unwrap_or_else(|| panic!("{topic}: {s:?} not stored at {offset_id}"));
        brokers.insert(s.broker.clone());
        assert_eq!(m["broker"], s.broker.as_str(), "{m}");
        assert_eq!(m["queue"], s.queue, "{m}");
        assert_eq!(m["queue_offset"], s.queue_offset, "{m}");
        let p = &m["properties"];
        let uniq = p["UNIQ_KEY"].as_str().unwrap().to_string();
        let e = batch_keys.entry(s.send).or_insert((uniq.clone(), 0));
        assert_eq!(e.0, uniq, "{topic}: one UNIQ_KEY per send: {m}");
        e.1 += 1;
        assert_eq!(m["tags"], want.tag);
        assert_eq!(m["keys"].as_str(), want.keys, "{m}");
        for (k, v) in want.props {
            assert_eq!(p[*k], *v, "{m}");
        }
        let b = base64::engine::general_purpose::STANDARD.decode(m["body_base64"].as_str().unwrap()).unwrap();
        assert!(b == want_body, "{topic}: {offset_id}: body of {} bytes differs from the {} sent", b.len(), want.size);
    }
    for s in sent.values() {
        let (uniq, members) = &batch_keys[&s.send];
        if *members == 1 {
            assert_eq!(*uniq, s.msg_id, "{topic}: UNIQ_KEY is the msgId mqtui reported");
        } else {
            assert_ne!(*uniq, s.msg_id, "{topic}: a batch member carries the batch's UNIQ_KEY");
        }
    }
    assert_eq!(brokers.len(), 2, "{topic}: both brokers used: {brokers:?}");
}

#[test]
fn what_mqtui_sends_reads_back_from_apache_rocketmq_byte_for_byte() {
    let _serial = one_at_a_time();
    let Some(ns) = apache::namesrv() else { return };
    // 10,000 single sends with a tag, keys and user properties.
    let t1 = topic("Single");
    create_topic(&ns, &t1);
    let props = [("region", "eu-west"), ("note", "hello world")];
    let sent = produce(
        &ns,
        &t1,
        &[
            "--count",
            "10000",
            "--tag",
            "TagA",
            "--keys",
            "k1 k2",
            "--prop",
            "region=eu-west",
            "--prop",
            "note=hello world",
        ],
    );
    assert_eq!(sent.len(), 10_000);
    check_read_back(&ns, &t1, &sent, Expect { size: 128, tag: "TagA", keys: Some("k1 k2"), props: &props });

    // 500 batches of 10 (SEND_BATCH_MESSAGE).
    let t2 = topic("Batch");
    create_topic(&ns, &t2);
    let sent = produce(&ns, &t2, &["--count", "500", "--batch", "10", "--tag", "TagB", "--prop", "kind=batch"]);
    assert_eq!(sent.len(), 5_000);
    check_read_back(&ns, &t2, &sent, Expect { size: 128, tag: "TagB", keys: None, props: &[("kind", "batch")] });

    // 1,000 bodies of 8 KiB, zlib-compressed on the wire; the consumer sees them decompressed.
    let t3 = topic("Zlib");
    create_topic(&ns, &t3);
    let sent = produce(
        &ns,
        &t3,
        &["--count", "1000", "--size", "8192", "--tag", "TagC", "--keys", "big", "--prop", "kind=zlib"],
    );
    check_read_back(&ns, &t3, &sent, Expect { size: 8192, tag: "TagC", keys: Some("big"), props: &[("kind", "zlib")] });

    // mqadmin finds one by the msgId mqtui reported (the broker's UNIQ_KEY index) and by its key.
    let s = sent.values().next().unwrap();
    let out = apache::mqadmin(&["queryMsgById", "-n", &ns, "-t", &t3, "-i", &s.msg_id]);
    assert!(out.contains(&t3) && out.contains("TagC") && out.contains("big"), "queryMsgById {}: {out}", s.msg_id);
    // By key (at most 64 found): each is a message mqtui reported.
    let out = apache::mqadmin(&["queryMsgByKey", "-n", &ns, "-t", &t3, "-k", "big"]);
    let ours: std::collections::HashSet<&str> = sent.values().map(|s| s.msg_id.as_str()).collect();
    let found: Vec<&str> = out.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert!(!found.is_empty() && found.iter().all(|id| ours.contains(id)), "queryMsgByKey big: {out}");
}

#[test]
fn mqtui_route_agrees_with_mqadmin_on_the_java_name_server() {
    let _serial = one_at_a_time();
    let Some(ns) = apache::namesrv() else { return };
    let t = topic("Route");
    create_topic(&ns, &t);
    let o = mqtui(&["route", "--json", "--namesrv", &ns, "--topic", &t]).output().unwrap();
    assert!(o.status.success());
    let ours: Value = serde_json::from_slice(&o.stdout).unwrap();

    // topicRoute: the same brokers, addresses and queue data.
    let theirs = apache::fastjson_to_json(&apache::mqadmin(&["topicRoute", "-n", &ns, "-t", &t]));
    let sorted = |v: &Value, key: &str| {
        let mut a = v[key].as_array().unwrap().clone();
        a.sort_by_key(|x| x["brokerName"].as_str().unwrap().to_string());
        a
    };
    let brokers = |v: &Value| -> Vec<(String, String, Value)> {
        sorted(v, "brokerDatas")
            .iter()
            .map(|b| {
                (
                    b["brokerName"].as_str().unwrap().into(),
                    b["cluster"].as_str().unwrap().into(),
                    b["brokerAddrs"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(brokers(&ours["route"]), brokers(&theirs));
    let queues = |v: &Value| -> Vec<Vec<Value>> {
        sorted(v, "queueDatas")
            .iter()
            .map(|q| {
                ["brokerName", "readQueueNums", "writeQueueNums", "perm", "topicSysFlag"].map(|k| q[k].clone()).to_vec()
            })
            .collect()
    };
    assert_eq!(queues(&ours["route"]), queues(&theirs));

    // clusterList: the same cluster, brokers, ids and addresses.
    let list = apache::mqadmin(&["clusterList", "-n", &ns]);
    let mut theirs: Vec<(String, String, String, String)> = list
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4).then(|| (f[0].into(), f[1].into(), f[2].into(), f[3].into()))
        })
        .collect();
    theirs.sort();
    let mut ours_list = Vec::new();
    for (name, b) in ours["clusters"]["brokerAddrTable"].as_object().unwrap() {
        for (id, addr) in b["brokerAddrs"].as_object().unwrap() {
            ours_list.push((
                b["cluster"].as_str().unwrap().to_string(),
                name.clone(),
                id.clone(),
                addr.as_str().unwrap().into(),
            ));
        }
    }
    ours_list.sort();
    assert_eq!(ours_list, theirs, "{list}");
    assert_eq!(ours_list.len(), 2);
}

/// The header table of tests/common/headers.rs against Apache RocketMQ's broker: the answers the
/// demo broker is held to (tests/java_headers.rs) are the Java broker's own.
#[test]
fn the_java_broker_answers_the_header_table_as_the_demo_broker_does() {
    let _serial = one_at_a_time();
    let Some(ns) = apache::namesrv() else { return };
    let t = topic("Headers");
    create_topic(&ns, &t);
    let o = mqtui(&["route", "--json", "--namesrv", &ns, "--topic", &t]).output().unwrap();
    let route: Value = serde_json::from_slice(&o.stdout).unwrap();
    let addr = route["clusters"]["brokerAddrTable"]["broker-a"]["brokerAddrs"]["0"].as_str().unwrap().to_string();
    let failures = common::headers::check_all(&addr, &t, "broker-a");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A cluster of its own with authentication on: one broker, ACCESS_KEY:SECRET_KEY its account.
struct AclCluster {
    run: std::path::PathBuf,
    namesrv: String,
}

impl AclCluster {
    fn start(account: &str) -> Self {
        let run = std::env::temp_dir().join(format!("mqtui-apache-acl-{}", std::process::id()));
        let o = Command::new("bash")
            .arg(apache::script())
            .args(["start", "1", "29976", "31911"])
            .env("MQTUI_APACHE_RUN", &run)
            .env("MQTUI_APACHE_ACL", account)
            .output()
            .unwrap();
        assert!(o.status.success(), "ACL cluster: {}", String::from_utf8_lossy(&o.stderr));
        let namesrv = String::from_utf8_lossy(&o.stdout).lines().last().unwrap().to_string();
        AclCluster { run, namesrv }
    }
}

impl Drop for AclCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(apache::script()).arg("stop").env("MQTUI_APACHE_RUN", &self.run).status();
    }
}

/// Authentication on Apache RocketMQ's broker (5.3: ACL 2.0, which checks the ACL 1.0 request
/// signature mqtui writes): the right secret stores, a wrong one and none are refused with the
/// broker's own words, and the secret shows nowhere — output, errors, mqtui's trace log.
#[test]
fn acl_on_the_java_broker() {
    let _serial = one_at_a_time();
    if apache::namesrv().is_none() {
        return;
    }
    const SECRET: &str = "s3cret-Apache-77x";
    let c = AclCluster::start(&format!("mqtuiak:{SECRET}"));
    let logs = std::env::temp_dir().join(format!("mqtui-apache-acl-logs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&logs);
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_mqtui")).args(args).env("MQTUI_LOG_DIR", &logs).output().unwrap();
        let (out, err) =
            (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned());
        assert!(!out.contains(SECRET) && !err.contains(SECRET), "the secret shows: {out}{err}");
        (o.status.code(), out, err)
    };
    let t = topic("Acl");
    let ns = c.namesrv.as_str();
    let creds = ["--access-key", "mqtuiak", "--secret-key", SECRET];
    let (code, out, _) = run(&[&["topic", "create", "--namesrv", ns, "--topic", &t][..], &creds].concat());
    assert_eq!(code, Some(0), "{out}");
    let (code, out, _) = run(&["topic", "create", "--namesrv", ns, "--topic", &t]);
    assert_eq!(code, Some(1), "unsigned admin request refused: {out}");
    assert!(out.contains("NO_PERMISSION (16)"), "{out}");
    // The name server learns of the topic at the broker's next registration: wait for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !run(&["route", "--namesrv", ns, "--topic", &t]).1.contains("4 writable queue(s)") {
        assert!(std::time::Instant::now() < deadline, "{t} never reached the route");
        std::thread::sleep(Duration::from_millis(500));
    }

    let produce = |extra: &[&str]| {
        let base =
            ["produce", "--namesrv", ns, "--topic", &t, "--count", "1000", "--output", "jsonl", "--log-level", "trace"];
        run(&[&base[..], extra].concat())
    };
    let (code, out, err) = produce(&creds);
    let failed: Vec<&str> = out.lines().filter(|l| l.contains("\"status\":\"FAILED\"")).take(3).collect();
    assert_eq!(code, Some(0), "{err}{failed:?}");
    assert!(out.lines().last().unwrap().contains("\"ok\":1000"), "{}", out.lines().last().unwrap());

    for (extra, words) in [
        (&["--access-key", "mqtuiak", "--secret-key", "wrong-secret-1"][..], "check signature failed"),
        (&[][..], "CODE: 16  DESC: "),
    ] {
        let (code, out, _) = produce(extra);
        assert_eq!(code, Some(1), "{extra:?}");
        let summary: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        assert_eq!(summary["failed"], 1000, "{summary}");
        let first = out.lines().find(|l| l.contains("\"type\":\"result\"")).unwrap();
        // Worded as the Java client words an MQBrokerException: `CODE: 16  DESC: … BROKER: addr`.
        assert!(first.contains("CODE: 16  DESC: ") && first.contains(words), "the broker's own error: {first}");
    }
    let log = std::fs::read_to_string(logs.join("mqtui.log")).unwrap_or_default();
    assert!(!log.is_empty() && !log.contains(SECRET), "the secret is not in the log");

    // The broker holds the 1,000 signed ones and nothing else (read with a signed consumer).
    let o = apache::java("5.3.3", "ReadBack.java", &[ns, &t, "mqtuiak", SECRET]);
    let lines = apache::json_lines(&o);
    assert_eq!(
        lines.last().map(|l| l["messages"].clone()),
        Some(Value::from(1000)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Heartbeats as the Java client sends them: while `mqtui produce` runs, the Java broker lists
/// the producer under its group (`mqadmin producerConnection`: its client id ip@pid, language
/// JAVA and version V5_3_3, as the request headers say); once it has ended (UNREGISTER_CLIENT)
/// the group has no connection.
#[test]
fn the_java_broker_lists_mqtui_as_a_producer_of_its_group() {
    let _serial = one_at_a_time();
    let Some(ns) = apache::namesrv() else { return };
    let t = topic("Heartbeat");
    create_topic(&ns, &t);
    let group = format!("mqtui_hb_{}", std::process::id());
    let mut child = mqtui(&["produce", "--namesrv", &ns, "--topic", &t, "--group", &group, "--duration", "6"])
        .args(["--rate", "20", "--output", "json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let during = apache::mqadmin(&["producerConnection", "-n", &ns, "-g", &group, "-t", &t]);
    let status = child.wait().unwrap();
    assert!(status.success(), "mqtui produce");
    let id = format!("@{}", child.id());
    let line = during.lines().find(|l| l.contains(&id)).unwrap_or_else(|| panic!("listed while it runs: {during}"));
    assert!(line.contains("JAVA") && line.contains("V5_3_3"), "{line}");
    // After UNREGISTER_CLIENT, mqadmin finds no connection of the group.
    let o = std::process::Command::new("bash")
        .arg(apache::script())
        .args(["mqadmin", "producerConnection", "-n", &ns, "-g", &group, "-t", &t])
        .output()
        .unwrap();
    let after = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(!after.contains(&id), "unregistered when it ended: {after}");
}

/// The Java broker sets no bound on a topic's queues (5.3.3 creates 2048 on a broker when asked):
/// mqtui takes such a route and sends to every queue of it, those past 1024 included.
#[test]
fn a_topic_of_2048_queues_a_broker_is_taken_and_sent_to() {
    let _serial = one_at_a_time();
    let Some(ns) = apache::namesrv() else { return };
    let t = topic("Wide");
    apache::mqadmin(&["updateTopic", "-n", &ns, "-c", "DefaultCluster", "-t", &t, "-w", "2048", "-r", "2048"]);
    // Every broker of the cluster registers it in its own time.
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let brokers = loop {
        let o = mqtui(&["route", "--json", "--namesrv", &ns, "--topic", &t]).output().unwrap();
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        let in_cluster = v["clusters"]["clusterAddrTable"]["DefaultCluster"].as_array().map_or(0, Vec::len);
        let wide =
            v["route"]["queueDatas"].as_array().map_or(0, |q| q.iter().filter(|q| q["writeQueueNums"] == 2048).count());
        if in_cluster > 0 && wide == in_cluster {
            break wide;
        }
        assert!(std::time::Instant::now() < deadline, "the route never showed 2048 queues on every broker: {v}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let n = 2048 * brokers;
    let stored = produce(&ns, &t, &["--count", &n.to_string(), "--concurrency", "256"]);
    assert_eq!(stored.len(), n);
    let high = stored.values().filter(|s| s.queue >= 1024).count();
    assert!(high > 1000 * brokers, "{high} sends to queues 1024-2047");
    assert!(stored.values().all(|s| (0..2048).contains(&s.queue)));
}
