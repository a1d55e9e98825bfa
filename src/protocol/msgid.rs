//! Message ids: the client's unique id (`UNIQ_KEY`, `MessageClientIDSetter`) and the broker's
//! offset id (`MessageDecoder.createMessageId`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Mutex;

use chrono::{Datelike, Local, TimeZone};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The wall clock in ms since the epoch, as `System.currentTimeMillis()` (one clock read, no
/// calendar or time zone work: this runs for every send).
pub fn wall_ms() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// Uppercase hex, as `UtilAll.bytes2string`.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Bytes from hex (either case); `None` if it is not hex.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    let nib = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    s.as_bytes().chunks(2).map(|p| Some(nib(p[0])? << 4 | nib(p[1])?)).collect()
}

/// Makes `UNIQ_KEY`s in the Java client's format: IPv4 (4) + pid (2) + per-process random (4)
/// + milliseconds since the start of the month, local time (4) + counter (2) = 32 hex chars.
pub struct UniqIdGenerator {
    prefix: [u8; 10],
    counter: AtomicU16,
    month: Mutex<(i64, i64)>, // (start of this month, start of next), epoch ms
}

impl Default for UniqIdGenerator {
    fn default() -> Self {
        Self::new(local_ipv4())
    }
}

impl UniqIdGenerator {
    pub fn new(ip: Ipv4Addr) -> Self {
        let mut prefix = [0u8; 10];
        prefix[..4].copy_from_slice(&ip.octets());
        prefix[4..6].copy_from_slice(&(std::process::id() as u16).to_be_bytes());
        prefix[6..10].copy_from_slice(&rand::random::<i32>().to_be_bytes());
        UniqIdGenerator { prefix, counter: AtomicU16::new(rand::random()), month: Mutex::new((0, 0)) }
    }

    /// The next id.
    pub fn next_id(&self) -> String {
        self.id_at(wall_ms())
    }

    /// The id for a given wall clock (epoch ms); `next_id` with the clock passed in.
    pub fn id_at(&self, now_ms: i64) -> String {
        let start = {
            let mut m = self.month.lock().unwrap();
            if now_ms >= m.1 || now_ms < m.0 - 1_000_000 {
                *m = month_bounds(now_ms);
            }
            m.0
        };
        let mut b = [0u8; 16];
        b[..10].copy_from_slice(&self.prefix);
        b[10..14].copy_from_slice(&month_span(now_ms, start).to_be_bytes());
        b[14..16].copy_from_slice(&self.counter.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        to_hex(&b)
    }
}

/// Milliseconds since the start of the month as the Java client writes them: `(int)(now - start)`,
/// so from day 24.8 of a month on the value wraps past `i32::MAX` (read it back as unsigned); a
/// clock that stepped back by less than 1,000 s (NTP) gives 0.
pub fn month_span(now_ms: i64, month_start_ms: i64) -> i32 {
    let diff = now_ms.wrapping_sub(month_start_ms) as i32;
    if diff < 0 && diff > -1_000_000 {
        0
    } else {
        diff
    }
}

/// The time an `UNIQ_KEY` was made, in ms since the start of its month (the unsigned reading of
/// `month_span`); `None` if it is not a 32- or 56-hex-char id.
pub fn uniq_id_month_ms(id: &str) -> Option<u32> {
    let b = from_hex(id)?;
    let at = match b.len() {
        16 => 10,
        28 => 22,
        _ => return None,
    };
    Some(u32::from_be_bytes(b[at..at + 4].try_into().ok()?))
}

fn month_bounds(now_ms: i64) -> (i64, i64) {
    let now = Local.timestamp_millis_opt(now_ms).single().unwrap_or_else(Local::now);
    let start =
        Local.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0).earliest().map_or(now_ms, |d| d.timestamp_millis());
    let (ny, nm) = if now.month() == 12 { (now.year() + 1, 1) } else { (now.year(), now.month() + 1) };
    let next =
        Local.with_ymd_and_hms(ny, nm, 1, 0, 0, 0).earliest().map_or(now_ms + 86_400_000, |d| d.timestamp_millis());
    (start, next)
}

/// This host's IPv4 address as `UtilAll.getIP` picks it: the interfaces' IPv4 addresses, the
/// first public one, else the first private one (10/8, 172.16/12, 192.168/16), never loopback
/// or 0.x; a fake one made from the clock when there is none (as the Java client does). Reads
/// the interfaces (getifaddrs), never DNS: a host name that does not resolve cannot stall start-up.
pub fn local_ipv4() -> Ipv4Addr {
    pick_ipv4(interface_ipv4s()).unwrap_or_else(|| {
        let t = (chrono::Utc::now().timestamp_millis() as u64).to_be_bytes();
        Ipv4Addr::new(t[4], t[5], t[6], t[7])
    })
}

/// `UtilAll.getIP`'s choice among a host's IPv4 addresses.
pub fn pick_ipv4(addrs: impl IntoIterator<Item = Ipv4Addr>) -> Option<Ipv4Addr> {
    let mut private = None;
    for ip in addrs {
        let o = ip.octets();
        if o[0] == 127 || o[0] == 0 || ip.is_unspecified() {
            continue;
        }
        if ip.is_private() {
            private.get_or_insert(ip);
        } else {
            return Some(ip);
        }
    }
    private
}

#[cfg(unix)]
fn interface_ipv4s() -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we only read and then free with freeifaddrs.
    unsafe {
        if libc::getifaddrs(&mut head) != 0 {
            return out;
        }
        let mut cur = head;
        while !cur.is_null() {
            let ifa = &*cur;
            if !ifa.ifa_addr.is_null() && i32::from((*ifa.ifa_addr).sa_family) == libc::AF_INET {
                let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                out.push(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
            }
            cur = ifa.ifa_next;
        }
        libc::freeifaddrs(head);
    }
    out
}

#[cfg(not(unix))]
fn interface_ipv4s() -> Vec<Ipv4Addr> {
    Vec::new()
}

/// The broker's offset message id: store host IPv4 (4) + port (4) + commit-log offset (8).
pub fn offset_msg_id(store: SocketAddr, commit_log_offset: i64) -> String {
    let mut b = Vec::with_capacity(28);
    match store.ip() {
        IpAddr::V4(v4) => b.extend_from_slice(&v4.octets()),
        IpAddr::V6(v6) => b.extend_from_slice(&v6.octets()),
    }
    b.extend_from_slice(&(store.port() as i32).to_be_bytes());
    b.extend_from_slice(&commit_log_offset.to_be_bytes());
    to_hex(&b)
}

/// Decodes an offset message id into (store address, commit-log offset).
pub fn decode_offset_msg_id(id: &str) -> Option<(SocketAddr, i64)> {
    let b = from_hex(id)?;
    let ip_len = match b.len() {
        16 => 4,
        28 => 16,
        _ => return None,
    };
    let ip: IpAddr = if ip_len == 4 {
        IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    } else {
        let a: [u8; 16] = b[..16].try_into().ok()?;
        IpAddr::V6(a.into())
    };
    let port = i32::from_be_bytes(b[ip_len..ip_len + 4].try_into().ok()?);
    let off = i64::from_be_bytes(b[ip_len + 4..ip_len + 12].try_into().ok()?);
    Some((SocketAddr::new(ip, u16::try_from(port).ok()?), off))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniq_ids_have_java_layout_and_are_distinct() {
        let g = UniqIdGenerator::new(Ipv4Addr::new(10, 0, 0, 1));
        let a = g.next_id();
        let b = g.next_id();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a.starts_with("0A000001"));
        assert!(a.bytes().all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c)));
        let pid = format!("{:04X}", std::process::id() as u16);
        assert_eq!(&a[8..12], pid);
        let bytes = from_hex(&a).unwrap();
        // Unsigned: past day 24.8 of a month the Java client's int wraps negative.
        let ms = uniq_id_month_ms(&a).unwrap();
        assert!((ms as i64) < 31 * 86_400_000 + 3_600_000, "{ms}");
        let ca = u16::from_be_bytes(bytes[14..16].try_into().unwrap());
        let cb = u16::from_be_bytes(from_hex(&b).unwrap()[14..16].try_into().unwrap());
        assert_eq!(cb, ca.wrapping_add(1));
    }

    #[test]
    fn month_span_wraps_like_javas_int_cast_and_forgives_small_clock_steps_back() {
        const DAY: i64 = 86_400_000;
        let start = 1_761_955_200_000; // 2025-11-01T00:00Z
        assert_eq!(month_span(start, start), 0);
        assert_eq!(month_span(start + DAY + 5, start), (DAY + 5) as i32);
        // Day 25 and day 31: past i32::MAX, written as Java's (int) cast writes them.
        for day in [25, 30] {
            let now = start + day * DAY + 123;
            let span = month_span(now, start);
            assert!(span < 0);
            assert_eq!(span as u32 as i64, day * DAY + 123);
        }
        // NTP stepped back a little: 0; far back: the raw (negative) difference, as Java.
        assert_eq!(month_span(start - 999_999, start), 0);
        assert_eq!(month_span(start - 2_000_000, start), -2_000_000);

        let g = UniqIdGenerator::new(Ipv4Addr::new(10, 0, 0, 1));
        let late = start + 30 * DAY + 7;
        let id = g.id_at(late);
        let own = uniq_id_month_ms(&id).unwrap() as i64;
        // The generator uses local month bounds; whatever the zone, the unsigned reading is
        // within a month (+1 h for a daylight-saving month).
        assert!(own < 31 * DAY + 3_600_000, "{own}");
        assert_eq!(uniq_id_month_ms("zz"), None);
    }

    #[test]
    fn local_ip_is_chosen_like_java_and_never_loopback() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(pick_ipv4([ip("127.0.0.1"), ip("10.1.2.3"), ip("8.8.4.4")]), Some(ip("8.8.4.4")));
        assert_eq!(pick_ipv4([ip("127.0.0.1"), ip("192.168.1.9"), ip("10.1.2.3")]), Some(ip("192.168.1.9")));
        assert_eq!(pick_ipv4([ip("127.0.0.1"), ip("0.0.0.0")]), None);
        let here = local_ipv4();
        assert!(!here.is_loopback(), "{here}");
        // The interfaces of this machine, read without DNS.
        assert!(interface_ipv4s().iter().any(|a| a.is_loopback()), "{:?}", interface_ipv4s());
    }

    #[test]
    fn offset_ids_round_trip() {
        let addr: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let id = offset_msg_id(addr, 0x1234);
        assert_eq!(id, "7F00000100002A9F0000000000001234");
        assert_eq!(decode_offset_msg_id(&id), Some((addr, 0x1234)));
        assert_eq!(decode_offset_msg_id("zz"), None);
        let v6: SocketAddr = "[::1]:9876".parse().unwrap();
        let id6 = offset_msg_id(v6, 7);
        assert_eq!(id6.len(), 56);
        assert_eq!(decode_offset_msg_id(&id6), Some((v6, 7)));
    }
}
