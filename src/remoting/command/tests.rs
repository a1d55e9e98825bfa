use super::*;

fn sample(t: SerializeType) -> RemotingCommand {
    let mut ext = ExtFields::new();
    ext.push("a", "group".into());
    ext.push("i", "KEYS\u{1}k1\u{2}UNIQ_KEY\u{1}ABC\u{2}".into());
    ext.push("quote", "he said \"hi\"\\ \n ok é".into());
    let mut c = RemotingCommand::request(310, ext).with_body(&b"hello"[..]);
    c.remark = Some("r\u{0}emark".into());
    c.serialize_type = t;
    c
}

#[test]
fn both_encodings_round_trip() {
    for t in [SerializeType::Json, SerializeType::RocketMq] {
        let c = sample(t);
        let mut frame = c.encode();
        let total = frame.get_u32() as usize;
        assert_eq!(total, frame.len());
        let d = RemotingCommand::decode_frame(frame).unwrap();
        assert_eq!(d, c, "{t:?}");
    }
}

#[test]
fn json_header_is_what_java_and_rocketmq_rust_read() {
    let mut c = sample(SerializeType::Json);
    c.opaque = 7;
    c.remark = None;
    let frame = c.encode();
    let word = u32::from_be_bytes(frame[4..8].try_into().unwrap());
    assert_eq!(word >> 24, 0);
    let header = &frame[8..8 + (word & 0xFFFFFF) as usize];
    let v: serde_json::Value = serde_json::from_slice(header).unwrap();
    assert_eq!(v["code"], 310);
    assert_eq!(v["language"], "JAVA");
    assert_eq!(v["opaque"], 7);
    assert_eq!(v["flag"], 0);
    assert_eq!(v["serializeTypeCurrentRPC"], "JSON");
    assert_eq!(v["extFields"]["i"], "KEYS\u{1}k1\u{2}UNIQ_KEY\u{1}ABC\u{2}");
    assert!(std::str::from_utf8(header).unwrap().contains("\\u0001"));
}

#[test]
fn binary_header_layout_matches_rocketmq_serializable() {
    let mut ext = ExtFields::new();
    ext.push("k", "vv".into());
    let mut c = RemotingCommand::request(105, ext);
    c.opaque = 0x01020304;
    c.version = 479;
    c.language = LanguageCode::Java;
    c.serialize_type = SerializeType::RocketMq;
    let f = c.encode();
    #[rustfmt::skip]
    let expect_header: &[u8] = &[
        0, 105,             // code
        0,                  // JAVA
        0x01, 0xDF,         // version 479
        1, 2, 3, 4,         // opaque
        0, 0, 0, 0,         // flag
        0, 0, 0, 0,         // remark length 0
        0, 0, 0, 9,         // map length
        0, 1, b'k', 0, 0, 0, 2, b'v', b'v',
    ];
    assert_eq!(&f[4..8], &[1, 0, 0, expect_header.len() as u8]);
    assert_eq!(&f[8..], expect_header);
}

#[test]
fn json_decoder_accepts_nulls_unknown_keys_and_lax_values() {
    let h = br#"{"code":0,"language":"RUST","version":474,"opaque":1,"flag":1,"remark":null,"extFields":null,"serializeTypeCurrentRPC":"JSON","unknown":[1,2]}"#;
    let c = decode_json_header(&Bytes::from_static(h)).unwrap();
    assert!(c.is_response());
    assert_eq!(c.language, LanguageCode::Rust);
    assert!(c.ext_fields.is_empty());
    let h = br#"{"code":0,"flag":1,"extFields":{"queueId":3,"batch":false,"x":null,"msgId":"AB"}}"#;
    let c = decode_json_header(&Bytes::from_static(h)).unwrap();
    assert_eq!(c.ext_fields.get("queueId"), Some("3"));
    assert_eq!(c.ext_fields.get("batch"), Some("false"));
    assert_eq!(c.ext_fields.get("x"), None);
    assert_eq!(c.ext_fields.get("msgId"), Some("AB"));
    assert!(matches!(decode_json_header(&Bytes::from_static(b"{\"code\":")), Err(CodecError::InvalidJson(_))));
    assert!(matches!(decode_json_header(&Bytes::from_static(b"{}")), Err(CodecError::InvalidJson(_))));
}

#[test]
fn fast_json_path_agrees_with_serde() {
    let headers: &[&str] = &[
        r#"{"code":310,"language":"JAVA","version":479,"opaque":5,"flag":0,"extFields":{"a":"g","i":"K\u0001v\u0002"},"serializeTypeCurrentRPC":"JSON"}"#,
        r#"{"code":0,"language":"RUST","version":474,"opaque":1,"flag":1,"remark":null,"extFields":null,"serializeTypeCurrentRPC":"JSON"}"#,
        r#" { "code" : -3 , "remark" : "a \"q\" \\ \/ \n é \ud83d\ude00 end", "extFields" : { "n" : 12 , "b" : false , "z" : null , "t" : true } } "#,
        r#"{"flag":1,"code":2,"unknown":"x","extFields":{}}"#,
    ];
    for h in headers {
        let b = Bytes::copy_from_slice(h.as_bytes());
        let fast = fast_json::parse(&b).unwrap_or_else(|| panic!("fast path declined {h}"));
        let slow = decode_json_header_serde(&b).unwrap();
        assert_eq!(fast, slow, "{h}");
    }
    // Declined by the fast path, still read by serde_json.
    for h in [r#"{"code":1,"x":[1,2]}"#, r#"{"code":1,"x":1.5}"#, r#"{"code":1,"x":{"y":1}}"#] {
        let b = Bytes::copy_from_slice(h.as_bytes());
        assert!(fast_json::parse(&b).is_none(), "{h}");
        assert_eq!(decode_json_header(&b).unwrap().code, 1);
    }
    // Bad input is declined and then a typed error.
    for h in [r#"{"code":1"#, r#"{"code":"x"}"#, r#"{"code":1}x"#, "{\"code\":1,\"remark\":\"\\ud800\"}"] {
        let b = Bytes::copy_from_slice(h.as_bytes());
        assert!(fast_json::parse(&b).is_none(), "{h}");
    }
}

proptest::proptest! {
    #[test]
    fn fast_json_round_trips_anything_we_encode(
        code in proptest::prelude::any::<i32>(),
        remark in proptest::option::of("\\PC{0,30}"),
        ext in proptest::collection::vec(("[a-zA-Z0-9_]{1,8}", "\\PC{0,30}"), 0..10),
    ) {
        let mut c = RemotingCommand::request(code, ext.into_iter().collect());
        c.remark = remark;
        let mut frame = c.encode();
        frame.advance(4);
        let d = RemotingCommand::decode_frame(frame.clone()).unwrap();
        proptest::prop_assert_eq!(&d, &c);
        frame.advance(4);
        let h = frame.slice(..frame.len());
        proptest::prop_assert!(fast_json::parse(&h).is_some());
    }
}

#[test]
fn ext_fields_insert_replaces() {
    let mut e = ExtFields::new();
    e.insert("a", "1");
    e.insert("a", "2");
    assert_eq!(e.len(), 1);
    assert_eq!(e.get("a"), Some("2"));
    assert_eq!(e.remove("a"), Some("2".into()));
    assert!(e.is_empty());
}

#[test]
fn int_formatting() {
    use super::json_write::{fmt_int, itoa_buf};
    let mut b = itoa_buf();
    assert_eq!(fmt_int(&mut b, 0), b"0");
    assert_eq!(fmt_int(&mut b, -2147483648), b"-2147483648");
    assert_eq!(fmt_int(&mut b, 479), b"479");
    // Every length and sign, as Rust (and Java's Long.toString) writes them.
    let mut v: i64 = 1;
    for _ in 0..19 {
        for x in [v - 1, v, v + 1, v * 5, -v, -v + 1, -(v * 5)] {
            assert_eq!(fmt_int(&mut b, x), x.to_string().as_bytes(), "{x}");
        }
        v = v.saturating_mul(10);
    }
    for x in [i64::MIN, i64::MAX, i64::MIN + 1, 10, 99, 100, -10, -99, -100] {
        assert_eq!(fmt_int(&mut b, x), x.to_string().as_bytes(), "{x}");
    }
}

#[test]
fn the_longest_fixed_members_fit_the_header_bound() {
    // No fields to lend slack: the fixed members alone at their longest.
    for language in [LanguageCode::Java, LanguageCode::NodeJs, LanguageCode::Other] {
        let mut c = RemotingCommand::request(i32::MIN, ExtFields::new());
        c.version = i32::MIN;
        c.flag = i32::MIN;
        c.language = language;
        let frame = c.encode_as(i32::MIN);
        let back = RemotingCommand::decode_frame(frame.slice(4..)).unwrap();
        assert_eq!((back.code, back.version, back.flag, back.opaque), (i32::MIN, i32::MIN, i32::MIN, i32::MIN));
        assert_eq!(back.language, language);
    }
}

#[test]
fn a_header_far_longer_than_the_room_reserved_for_it_grows_and_round_trips() {
    // Long values full of escapes (six bytes each when written) in a frame arena already part
    // used: the writer grows the buffer mid-header and the frame reads back whole.
    let mut e = ExtFields::new();
    for i in 0..40 {
        e.insert(format!("k{i}"), format!("{}\u{1}\"\\{}", "v".repeat(i * 7), "\u{2}".repeat(i * 3)));
    }
    let mut c = RemotingCommand::request(310, e);
    c.remark = Some("r\u{1}".repeat(500));
    c.body = Bytes::from(vec![7u8; 3000]);
    for opaque in [1, 2, 3] {
        let frame = c.encode_as(opaque);
        assert_eq!(u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize, frame.len() - 4);
        let back = RemotingCommand::decode_frame(frame.slice(4..)).unwrap();
        assert_eq!(back.opaque, opaque);
        assert_eq!(back.ext_fields, c.ext_fields);
        assert_eq!(back.remark, c.remark);
        assert_eq!(back.body, c.body);
    }
}

/// A frame of `header` (serialize type `t`) and no body.
fn frame_of(t: u8, header: &[u8]) -> Bytes {
    let mut f = Vec::new();
    f.extend_from_slice(&(((t as u32) << 24) | header.len() as u32).to_be_bytes());
    f.extend_from_slice(header);
    Bytes::from(f)
}

#[test]
fn strings_that_are_not_utf8_are_read_as_java_reads_them() {
    // A broker's error remark in Latin-1 ("café" as 0x63 0x61 0x66 0xE9) and an extFields value
    // with a stray 0xFF: Java's `new String(bytes, UTF_8)` reads each bad sequence as U+FFFD.
    let mut json = br#"{"code":1,"flag":1,"opaque":9,"remark":"caf"#.to_vec();
    json.push(0xE9);
    json.extend_from_slice(br#" down","extFields":{"msgId":"a"#);
    json.push(0xFF);
    json.extend_from_slice(br#"b","queueId":"2"}}"#);
    let c = RemotingCommand::decode_frame(frame_of(0, &json)).unwrap();
    assert_eq!((c.code, c.opaque), (1, 9));
    assert_eq!(c.remark.as_deref(), Some("caf\u{FFFD} down"));
    assert_eq!(c.ext_fields.get("msgId"), Some("a\u{FFFD}b"));
    assert_eq!(c.ext_fields.get("queueId"), Some("2"));

    // The same in a ROCKETMQ binary header.
    let mut h = Vec::new();
    h.extend_from_slice(&1i16.to_be_bytes());
    h.push(0);
    h.extend_from_slice(&0i16.to_be_bytes());
    h.extend_from_slice(&9i32.to_be_bytes());
    h.extend_from_slice(&1i32.to_be_bytes());
    let remark = b"caf\xE9 down";
    h.extend_from_slice(&(remark.len() as i32).to_be_bytes());
    h.extend_from_slice(remark);
    let mut map = Vec::new();
    for (k, v) in [(&b"msgId"[..], &b"a\xFFb"[..]), (b"k\xC3", b"v")] {
        map.extend_from_slice(&(k.len() as u16).to_be_bytes());
        map.extend_from_slice(k);
        map.extend_from_slice(&(v.len() as i32).to_be_bytes());
        map.extend_from_slice(v);
    }
    h.extend_from_slice(&(map.len() as i32).to_be_bytes());
    h.extend_from_slice(&map);
    let c = RemotingCommand::decode_frame(frame_of(1, &h)).unwrap();
    assert_eq!(c.remark.as_deref(), Some("caf\u{FFFD} down"));
    assert_eq!(c.ext_fields.get("msgId"), Some("a\u{FFFD}b"));
    assert_eq!(c.ext_fields.get("k\u{FFFD}"), Some("v"));
}

#[test]
fn a_header_of_more_ext_fields_than_the_bound_is_an_error() {
    let json = |n: usize| {
        let fields: Vec<String> = (0..n).map(|i| format!(r#""k{i}":"v""#)).collect();
        format!(r#"{{"code":0,"flag":1,"opaque":1,"extFields":{{{}}}}}"#, fields.join(","))
    };
    let ok = RemotingCommand::decode_frame(frame_of(0, json(MAX_EXT_FIELDS).as_bytes())).unwrap();
    assert_eq!(ok.ext_fields.len(), MAX_EXT_FIELDS);
    let e = RemotingCommand::decode_frame(frame_of(0, json(MAX_EXT_FIELDS + 1).as_bytes())).unwrap_err();
    assert!(e.to_string().contains("more than 4096 extFields"), "{e}");
    // The same in a binary header.
    let mut c = RemotingCommand::request(1, ExtFields::new());
    for i in 0..=MAX_EXT_FIELDS {
        c.ext_fields.insert(format!("k{i}"), "v");
    }
    c.serialize_type = SerializeType::RocketMq;
    let mut f = c.encode();
    f.advance(4);
    assert!(RemotingCommand::decode_frame(f).is_err());
}
