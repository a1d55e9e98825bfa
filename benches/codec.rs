//! Encode and decode of a SEND_MESSAGE_V2 request with a 128-byte body, both header encodings.
//! Target: ≤ 1 µs each.

use bytes::{Buf, Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use mqtui::protocol::message::Message;
use mqtui::protocol::msgid::UniqIdGenerator;
use mqtui::protocol::properties;
use mqtui::protocol::send::{single_request, SendTarget};
use mqtui::remoting::{RemotingCommand, SerializeType};

fn request(st: SerializeType) -> RemotingCommand {
    let ids = UniqIdGenerator::default();
    let mut m = Message::new("BenchTopic", vec![b'x'; 128]).with_tags("TagA").with_keys(&["order-1"]);
    m.set_property(properties::UNIQ_KEY, ids.next_id());
    single_request(&m, &SendTarget { producer_group: "bench_group", broker_name: "broker-a", queue_id: 3, smart: true })
        .with_serialize_type(st)
}

fn bench(c: &mut Criterion) {
    for (name, st) in [("json", SerializeType::Json), ("rocketmq", SerializeType::RocketMq)] {
        let req = request(st);
        let mut buf = BytesMut::with_capacity(1024);
        c.bench_function(&format!("send_v2_128B/encode/{name}"), |b| {
            b.iter(|| {
                buf.clear();
                black_box(&req).encode_into(&mut buf);
                black_box(buf.len())
            })
        });
        let mut frame: Bytes = req.encode();
        frame.advance(4);
        c.bench_function(&format!("send_v2_128B/decode/{name}"), |b| {
            b.iter(|| RemotingCommand::decode_frame(black_box(frame.clone())).unwrap())
        });
        if st == SerializeType::Json {
            // The hand-written scanner against serde_json alone, on the same header.
            let len = (u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) & 0x00ff_ffff) as usize;
            let header = frame.slice(4..4 + len);
            c.bench_function("send_v2_128B/decode_header/json-scanner", |b| {
                b.iter(|| mqtui::remoting::command::bench_api::json_header(black_box(&header)).unwrap())
            });
            c.bench_function("send_v2_128B/decode_header/json-serde", |b| {
                b.iter(|| mqtui::remoting::command::bench_api::json_header_serde(black_box(&header)).unwrap())
            });
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
