//! Writing a JSON header as fastjson does: integers without allocation, strings with control
//! characters as `\u00XX` escapes.

use bytes::{BufMut, BytesMut};

pub(super) fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

pub(super) fn fmt_int(buf: &mut [u8; 20], v: i64) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Writes `s` as a JSON string. Control characters (the property separators 0x01 / 0x02 among
/// them) become `\u00XX` escapes, as fastjson writes them.
pub(super) fn write_json_str(dst: &mut BytesMut, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    dst.reserve(bytes.len() + 2);
    dst.put_u8(b'"');
    let mut run = 0;
    loop {
        let i = super::scan::needs_escape(bytes, run);
        dst.put_slice(&bytes[run..i]);
        let Some(&b) = bytes.get(i) else { break };
        match b {
            b'"' => dst.put_slice(b"\\\""),
            b'\\' => dst.put_slice(b"\\\\"),
            b'\n' => dst.put_slice(b"\\n"),
            b'\r' => dst.put_slice(b"\\r"),
            b'\t' => dst.put_slice(b"\\t"),
            _ => dst.put_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]),
        }
        run = i + 1;
    }
    dst.put_u8(b'"');
}
