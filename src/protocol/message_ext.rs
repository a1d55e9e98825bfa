//! A stored message as `MessageDecoder.encode(MessageExt, false)` writes it and
//! `MessageDecoder.decode` reads it: the body of a broker's CHECK_TRANSACTION_STATE request.
//!
//! ```text
//! i32 storeSize | i32 magic | i32 bodyCRC | i32 queueId | i32 flag | i64 queueOffset
//! | i64 physicalOffset | i32 sysFlag | i64 bornTimestamp | bornHost (4 or 16 bytes + i32 port)
//! | i64 storeTimestamp | storeHost (idem) | i32 reconsumeTimes | i64 preparedTransactionOffset
//! | i32 bodyLen | body | topic (u8 length, i16 under magic V2) | i16 propsLen | props
//! ```

use std::net::{IpAddr, SocketAddr};

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// `MESSAGE_MAGIC_CODE` (topic length in one byte).
pub const MAGIC_V1: i32 = -626_843_481;
/// `MESSAGE_MAGIC_CODE_V2` (topic length in two bytes).
pub const MAGIC_V2: i32 = -626_843_477;
/// `MessageSysFlag.BORNHOST_V6_FLAG` / `STOREHOSTADDRESS_V6_FLAG`.
const BORNHOST_V6: i32 = 0x1 << 4;
const STOREHOST_V6: i32 = 0x1 << 5;

/// The fields a check-back needs, and the rest as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    pub topic: String,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: Bytes,
    /// As stored: `name 0x01 value 0x02 …`.
    pub properties: String,
}

fn put_host(out: &mut BytesMut, a: SocketAddr) {
    match a.ip() {
        IpAddr::V4(ip) => out.put_slice(&ip.octets()),
        IpAddr::V6(ip) => out.put_slice(&ip.octets()),
    }
    out.put_i32(a.port() as i32);
}

fn get_host(b: &mut Bytes, v6: bool) -> Result<SocketAddr, String> {
    let n = if v6 { 16 } else { 4 };
    if b.remaining() < n + 4 {
        return Err("host past the end".into());
    }
    let ip: IpAddr = if v6 {
        let mut o = [0u8; 16];
        b.copy_to_slice(&mut o);
        o.into()
    } else {
        let mut o = [0u8; 4];
        b.copy_to_slice(&mut o);
        o.into()
    };
    Ok(SocketAddr::new(ip, b.get_i32() as u16))
}

impl MessageExt {
    /// `MessageDecoder.encode(msg, false)`, with the sys flag's host bits set from the addresses.
    pub fn encode(&self) -> Bytes {
        let mut sys_flag = self.sys_flag & !(BORNHOST_V6 | STOREHOST_V6);
        if self.born_host.is_ipv6() {
            sys_flag |= BORNHOST_V6;
        }
        if self.store_host.is_ipv6() {
            sys_flag |= STOREHOST_V6;
        }
        let host_len = |a: &SocketAddr| if a.is_ipv6() { 20 } else { 8 };
        let topic = self.topic.as_bytes();
        let v2 = topic.len() > u8::MAX as usize;
        let total = 4
            + 4
            + 4
            + 4
            + 4
            + 8
            + 8
            + 4
            + 8
            + host_len(&self.born_host)
            + 8
            + host_len(&self.store_host)
            + 4
            + 8
            + 4
            + self.body.len()
            + if v2 { 2 } else { 1 }
            + topic.len()
            + 2
            + self.properties.len();
        let mut out = BytesMut::with_capacity(total);
        out.put_i32(total as i32);
        out.put_i32(if v2 { MAGIC_V2 } else { MAGIC_V1 });
        let mut crc = flate2::Crc::new();
        crc.update(&self.body);
        out.put_i32((crc.sum() & 0x7FFF_FFFF) as i32);
        out.put_i32(self.queue_id);
        out.put_i32(self.flag);
        out.put_i64(self.queue_offset);
        out.put_i64(self.physical_offset);
        out.put_i32(sys_flag);
        out.put_i64(self.born_timestamp);
        put_host(&mut out, self.born_host);
        out.put_i64(self.store_timestamp);
        put_host(&mut out, self.store_host);
        out.put_i32(self.reconsume_times);
        out.put_i64(self.prepared_transaction_offset);
        out.put_i32(self.body.len() as i32);
        out.put_slice(&self.body);
        if v2 {
            out.put_i16(topic.len() as i16);
        } else {
            out.put_u8(topic.len() as u8);
        }
        out.put_slice(topic);
        out.put_i16(self.properties.len() as i16);
        out.put_slice(self.properties.as_bytes());
        out.freeze()
    }

    /// `MessageDecoder.decode(buffer)`: the body as stored (a compressed body stays compressed).
    pub fn decode(mut b: Bytes) -> Result<MessageExt, String> {
        const FIXED: usize = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8;
        if b.remaining() < FIXED {
            return Err(format!("{} bytes: shorter than a stored message's fixed fields", b.remaining()));
        }
        let _total = b.get_i32();
        let magic = b.get_i32();
        if magic != MAGIC_V1 && magic != MAGIC_V2 {
            return Err(format!("magic code {magic:#x} is not a message's"));
        }
        let _crc = b.get_i32();
        let queue_id = b.get_i32();
        let flag = b.get_i32();
        let queue_offset = b.get_i64();
        let physical_offset = b.get_i64();
        let sys_flag = b.get_i32();
        let born_timestamp = b.get_i64();
        let born_host = get_host(&mut b, sys_flag & BORNHOST_V6 != 0)?;
        if b.remaining() < 8 {
            return Err("store timestamp past the end".into());
        }
        let store_timestamp = b.get_i64();
        let store_host = get_host(&mut b, sys_flag & STOREHOST_V6 != 0)?;
        if b.remaining() < 4 + 8 + 4 {
            return Err("reconsume times past the end".into());
        }
        let reconsume_times = b.get_i32();
        let prepared_transaction_offset = b.get_i64();
        let body_len = b.get_i32();
        if body_len < 0 || body_len as usize > b.remaining() {
            return Err(format!("body length {body_len} past the end"));
        }
        let body = b.split_to(body_len as usize);
        let topic_len = if magic == MAGIC_V2 {
            if b.remaining() < 2 {
                return Err("topic length past the end".into());
            }
            b.get_i16() as usize
        } else {
            if b.remaining() < 1 {
                return Err("topic length past the end".into());
            }
            b.get_u8() as usize
        };
        if topic_len > b.remaining() {
            return Err("topic past the end".into());
        }
        let topic = String::from_utf8(b.split_to(topic_len).to_vec()).map_err(|_| "topic is not UTF-8".to_string())?;
        if b.remaining() < 2 {
            return Err("properties length past the end".into());
        }
        let props_len = b.get_i16();
        if props_len < 0 || props_len as usize > b.remaining() {
            return Err(format!("properties length {props_len} past the end"));
        }
        let properties = String::from_utf8(b.split_to(props_len as usize).to_vec())
            .map_err(|_| "properties are not UTF-8".to_string())?;
        Ok(MessageExt {
            topic,
            queue_id,
            flag,
            queue_offset,
            physical_offset,
            sys_flag,
            born_timestamp,
            born_host,
            store_timestamp,
            store_host,
            reconsume_times,
            prepared_transaction_offset,
            body,
            properties,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(topic: &str, host: &str) -> MessageExt {
        MessageExt {
            topic: topic.into(),
            queue_id: 2,
            flag: 0,
            queue_offset: 17,
            physical_offset: 4096,
            sys_flag: 4,
            born_timestamp: 1_700_000_000_000,
            born_host: host.parse().unwrap(),
            store_timestamp: 1_700_000_000_005,
            store_host: "127.0.0.1:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"half"),
            properties: crate::protocol::properties::encode([("UNIQ_KEY", "ID"), ("PGROUP", "G")]),
        }
    }

    #[test]
    fn round_trips_v4_v6_and_long_topics() {
        for m in [sample("T", "10.0.0.1:5000"), sample("T", "[::1]:5000"), sample(&"t".repeat(300), "10.0.0.1:1")] {
            let d = MessageExt::decode(m.encode()).unwrap();
            assert_eq!(d.topic, m.topic);
            assert_eq!(
                (d.born_host, d.body.clone(), d.properties.clone()),
                (m.born_host, m.body.clone(), m.properties.clone())
            );
            assert_eq!(d.sys_flag & 4, 4);
        }
    }

    #[test]
    fn a_cut_or_foreign_buffer_is_an_error() {
        let b = sample("T", "10.0.0.1:5000").encode();
        for cut in 0..b.len() {
            assert!(MessageExt::decode(b.slice(..cut)).is_err(), "cut at {cut}");
        }
        let mut bad = BytesMut::from(&b[..]);
        bad[4] = 0;
        assert!(MessageExt::decode(bad.freeze()).unwrap_err().contains("magic"));
    }
}
