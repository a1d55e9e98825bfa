//! Property tests: the decoder never panics on random or mutated input, always answers with a
//! frame, "need more bytes" or a typed error, and every command it encodes it decodes back.

use bytes::BytesMut;
use mqtui::protocol::message::{decode_batch, encode_batch, Message};
use mqtui::protocol::route::TopicRouteData;
use mqtui::remoting::{ExtFields, LanguageCode, RemotingCodec, RemotingCommand, SerializeType};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

fn command() -> impl Strategy<Value = RemotingCommand> {
    (
        any::<i16>(),
        any::<i32>(),
        0i32..4,
        proptest::option::of("\\PC{0,40}"),
        proptest::collection::vec(("[a-zA-Z]{1,12}", "\\PC{0,40}"), 0..12),
        proptest::collection::vec(any::<u8>(), 0..300),
        any::<bool>(),
    )
        .prop_map(|(code, opaque, flag, remark, ext, body, binary)| {
            let mut fields = ExtFields::new();
            for (k, v) in ext {
                fields.insert(k, v);
            }
            RemotingCommand {
                code: code as i32,
                language: LanguageCode::Java,
                version: 479,
                opaque,
                flag,
                remark: remark.filter(|r| !r.is_empty()),
                ext_fields: fields,
                body: body.into(),
                serialize_type: if binary { SerializeType::RocketMq } else { SerializeType::Json },
            }
        })
}

/// Decodes everything in `input`: must end in frames, a need for more bytes, or a typed error.
fn decode_all(input: &[u8]) -> Vec<RemotingCommand> {
    let mut codec = RemotingCodec::new(1 << 20);
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(c)) => out.push(c),
            Ok(None) | Err(_) => return out,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&input);
        let _ = decode_batch(input.clone().into());
        let _ = TopicRouteData::parse(&input);
    }

    #[test]
    fn random_frames_with_plausible_prefix_never_panic(
        len in 0u32..600, ty in 0u8..3, hlen in 0u32..600,
        rest in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut input = len.to_be_bytes().to_vec();
        input.extend_from_slice(&((ty as u32) << 24 | hlen).to_be_bytes());
        input.extend_from_slice(&rest);
        decode_all(&input);
    }

    #[test]
    fn encode_decode_round_trip(cmd in command()) {
        let frame = cmd.encode();
        let got = decode_all(&frame);
        prop_assert_eq!(got.len(), 1);
        prop_assert_eq!(&got[0], &cmd);
    }

    #[test]
    fn mutated_frames_never_panic(cmd in command(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let mut frame = cmd.encode().to_vec();
        for (pos, val) in flips {
            let n = frame.len();
            frame[pos % n] = val;
        }
        let n = frame.len();
        frame.truncate(cut % (n + 1));
        decode_all(&frame);
    }

    #[test]
    fn batch_round_trip(bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..100), 1..10)) {
        let msgs: Vec<Message> = bodies.iter().map(|b| Message::new("T", b.clone())).collect();
        let d = decode_batch(encode_batch(&msgs)).unwrap();
        prop_assert_eq!(d.len(), msgs.len());
        for (m, e) in msgs.iter().zip(&d) {
            prop_assert_eq!(&m.body, &e.body);
        }
    }
}
