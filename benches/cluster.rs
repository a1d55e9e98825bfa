//! The demo cluster's throughput from a pipelined client on loopback: SEND_MESSAGE_V2 with a
//! 128-byte body, up to 1024 requests in flight per connection. Target: ≥ 150,000 sends/s.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::stream::{FuturesUnordered, StreamExt};
use mqtui::cluster::{ClusterConfig, DemoCluster};
use mqtui::protocol::message::Message;
use mqtui::protocol::msgid::UniqIdGenerator;
use mqtui::protocol::properties;
use mqtui::protocol::send::{single_request, SendTarget};
use mqtui::remoting::{Connection, RemotingCommand, SerializeType};

const WINDOW: usize = 1024;

async fn pipelined(conn: &Connection, reqs: Vec<RemotingCommand>) {
    let mut it = reqs.into_iter();
    let mut inflight = FuturesUnordered::new();
    let t = Duration::from_secs(10);
    for r in it.by_ref().take(WINDOW) {
        inflight.push(conn.invoke(r, t));
    }
    while let Some(res) = inflight.next().await {
        assert_eq!(res.expect("reply").code, 0);
        if let Some(r) = it.next() {
            inflight.push(conn.invoke(r, t));
        }
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (cluster, conn) = rt.block_on(async {
        let cluster = DemoCluster::start(ClusterConfig { brokers: 1, ..Default::default() }).await.unwrap();
        let conn = Connection::connect(&cluster.broker_addr("broker-a").unwrap().to_string(), Duration::from_secs(3))
            .await
            .unwrap();
        (cluster, conn)
    });
    let ids = UniqIdGenerator::default();
    let make = |n: u64, st: SerializeType| -> Vec<RemotingCommand> {
        (0..n)
            .map(|i| {
                let mut m = Message::new("BenchTopic", vec![b'x'; 128]).with_tags("TagA");
                m.set_property(properties::UNIQ_KEY, ids.next_id());
                single_request(
                    &m,
                    &SendTarget {
                        producer_group: "bench_group",
                        broker_name: "broker-a",
                        queue_id: (i % 4) as i32,
                        smart: true,
                    },
                )
                .with_serialize_type(st)
            })
            .collect()
    };
    let mut g = c.benchmark_group("demo_cluster_pipelined");
    const BATCH: u64 = 20_000;
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    for (name, st) in [("json", SerializeType::Json), ("rocketmq", SerializeType::RocketMq)] {
        g.bench_function(format!("send_v2_128B/{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let reqs = make(BATCH, st);
                    let start = Instant::now();
                    rt.block_on(pipelined(&conn, reqs));
                    total += start.elapsed();
                }
                total
            })
        });
    }
    g.finish();
    drop(conn);
    cluster.shutdown();
}

criterion_group!(benches, bench);
criterion_main!(benches);
