//! Writing a JSON header as fastjson does: integers without allocation, strings with control
//! characters as `\u00XX` escapes. The header is written into spare capacity ([`JsonOut`]):
//! per string there is no reservation, only a room check, the scan and the copy.

use bytes::BytesMut;

pub(super) fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

/// "00" to "99": two digits per division.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

pub(super) fn fmt_int(buf: &mut [u8; 20], v: i64) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    while n >= 100 {
        let r = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[r..r + 2]);
    }
    if n >= 10 {
        let r = n as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[r..r + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// The most bytes `s` can take as a JSON string: quotes, and six bytes (`\u00XX`) per byte.
pub(super) fn json_str_bound(s: &str) -> usize {
    2 + 6 * s.len()
}

/// Strings up to this long take the one-pass path of [`JsonOut::str`].
const SHORT: usize = 24;

/// The bytes a JSON string cannot hold as they are: `"`, `\\` and the control characters.
static ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Copies `n` ≤ 16 bytes with two (overlapping) loads and stores of the widest word that fits:
/// a header's keys, numbers and punctuation, inline, without a call to `memcpy` for each (a
/// length known only at run time, a key chosen by index, would make one).
///
/// # Safety
/// `src` readable and `dst` writable for `n` bytes, not overlapping.
#[inline(always)]
unsafe fn copy_short(src: *const u8, dst: *mut u8, n: usize) {
    debug_assert!(n <= 16);
    if n >= 8 {
        let (a, b) = (src.cast::<u64>().read_unaligned(), src.add(n - 8).cast::<u64>().read_unaligned());
        dst.cast::<u64>().write_unaligned(a);
        dst.add(n - 8).cast::<u64>().write_unaligned(b);
    } else if n >= 4 {
        let (a, b) = (src.cast::<u32>().read_unaligned(), src.add(n - 4).cast::<u32>().read_unaligned());
        dst.cast::<u32>().write_unaligned(a);
        dst.add(n - 4).cast::<u32>().write_unaligned(b);
    } else if n > 0 {
        let (a, m, z) = (*src, *src.add(n / 2), *src.add(n - 1));
        *dst = a;
        *dst.add(n / 2) = m;
        *dst.add(n - 1) = z;
    }
}

/// Appends to a `BytesMut` through its spare capacity. Every write checks that it fits and
/// grows the buffer when it does not (rarely: the frame's encoder reserves for the usual
/// header), so no bound has to be computed first; [`JsonOut::finish`] sets the length.
pub(super) struct JsonOut<'a> {
    dst: &'a mut BytesMut,
    /// The start of `dst`'s spare capacity (taken from `spare_capacity_mut`, so that writing
    /// through it beyond `dst.len()` is in bounds of what it points into).
    spare: *mut u8,
    /// Bytes written into the spare capacity, and how many fit.
    at: usize,
    end: usize,
}

impl<'a> JsonOut<'a> {
    /// Writes into `dst`'s spare capacity as it is (the writes grow it when they need to).
    pub(super) fn new(dst: &'a mut BytesMut) -> JsonOut<'a> {
        let spare = dst.spare_capacity_mut();
        let end = spare.len();
        JsonOut { spare: spare.as_mut_ptr().cast::<u8>(), dst, at: 0, end }
    }

    /// Where the next byte goes, from the start of `dst`.
    #[inline(always)]
    pub(super) fn pos(&self) -> usize {
        self.dst.len() + self.at
    }

    /// Room for `n` more bytes from `at`.
    #[inline(always)]
    fn room(&mut self, n: usize) {
        if self.at + n > self.end {
            self.grow(n);
        }
    }

    /// Keeps what is written, then reserves at least `n` more bytes (the spare pointer moves
    /// with the buffer).
    #[cold]
    #[inline(never)]
    fn grow(&mut self, n: usize) {
        // SAFETY: the `at` bytes after the length were written, within the spare capacity.
        unsafe { self.dst.set_len(self.dst.len() + self.at) };
        self.dst.reserve(n.max(512));
        let spare = self.dst.spare_capacity_mut();
        self.end = spare.len();
        self.spare = spare.as_mut_ptr().cast::<u8>();
        self.at = 0;
    }

    #[inline(always)]
    pub(super) fn bytes(&mut self, b: &[u8]) {
        self.room(b.len());
        // SAFETY: `at + b.len() <= end`, within the spare capacity (made so just above), and
        // `b` cannot overlap the spare capacity of `dst`, which we borrow mutably.
        unsafe {
            let to = self.spare.add(self.at);
            if b.len() <= 16 {
                copy_short(b.as_ptr(), to, b.len());
            } else {
                std::ptr::copy_nonoverlapping(b.as_ptr(), to, b.len());
            }
        }
        self.at += b.len();
    }

    #[inline(always)]
    pub(super) fn byte(&mut self, b: u8) {
        self.bytes(&[b]);
    }

    pub(super) fn int(&mut self, v: i64) {
        let mut buf = itoa_buf();
        self.bytes(fmt_int(&mut buf, v));
    }

    /// `s` as a JSON string. Control characters (the property separators 0x01 / 0x02 among them)
    /// become `\u00XX` escapes, as fastjson writes them.
    pub(super) fn str(&mut self, s: &str) {
        let bytes = s.as_bytes();
        if bytes.len() <= SHORT {
            // Most header strings (keys, numbers, flags, a topic): checked and copied in one pass,
            // one room check for the lot, no call to memcpy.
            self.room(json_str_bound(s));
            // SAFETY: at most `bytes.len() + 2 <= json_str_bound(s)` bytes are written from `at`,
            // within the spare capacity (made so just above).
            unsafe {
                let p = self.spare.add(self.at);
                *p = b'"';
                for (i, &c) in bytes.iter().enumerate() {
                    if ESCAPE[c as usize] {
                        return self.str_escaped(bytes);
                    }
                    *p.add(1 + i) = c;
                }
                *p.add(1 + bytes.len()) = b'"';
            }
            self.at += bytes.len() + 2;
            return;
        }
        self.str_escaped(bytes);
    }

    fn str_escaped(&mut self, bytes: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.byte(b'"');
        let mut run = 0;
        loop {
            let i = super::scan::needs_escape(bytes, run);
            self.bytes(&bytes[run..i]);
            let Some(&b) = bytes.get(i) else { break };
            match b {
                b'"' => self.bytes(b"\\\""),
                b'\\' => self.bytes(b"\\\\"),
                b'\n' => self.bytes(b"\\n"),
                b'\r' => self.bytes(b"\\r"),
                b'\t' => self.bytes(b"\\t"),
                _ => self.bytes(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]),
            }
            run = i + 1;
        }
        self.byte(b'"');
    }

    pub(super) fn finish(self) {
        // SAFETY: the `at` bytes after the length were written above, within the spare capacity,
        // and only `grow` reallocated `dst` meanwhile (it kept them and began `at` anew).
        unsafe {
            let len = self.dst.len() + self.at;
            self.dst.set_len(len)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_copies_copy_exactly_their_bytes_at_every_length() {
        let src: Vec<u8> = (1..=16).collect();
        for n in 0..=16 {
            let mut dst = [0xAAu8; 18];
            // SAFETY: 16 readable bytes, 17 writable after the first.
            unsafe { super::copy_short(src.as_ptr(), dst.as_mut_ptr().add(1), n) };
            assert_eq!(dst[0], 0xAA, "{n}");
            assert_eq!(&dst[1..1 + n], &src[..n], "{n}");
            assert!(dst[1 + n..].iter().all(|&b| b == 0xAA), "{n}");
        }
    }
}
