//! Finding the bytes of a JSON string that end a plain run, eight at a time (SWAR): the header
//! writer stops at `"`, `\` and control characters (it escapes them), the reader at `"` and `\`.
//! A header's strings are short (a topic, a 32-digit id, the properties), so a word at a time
//! beats both a byte loop and a SIMD search that pays its set-up per string.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `w` that is below `n` (`n` ≤ 128). Bits above the lowest set one
/// may be false (a borrow runs on), the lowest is exact, which is all the callers read.
#[inline(always)]
fn below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(LO * n as u64) & !w & HI
}

#[inline(always)]
fn equal(w: u64, c: u8) -> u64 {
    below(w ^ (LO * c as u64), 1)
}

#[inline(always)]
fn word(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().expect("eight bytes"))
}

/// The last eight bytes of `b` as one word when fewer than eight from `from` are left (and `b`
/// has eight): the bytes before `from` read as `a`, so that a special byte there (one already
/// handled) cannot borrow into the others.
#[inline(always)]
fn tail(b: &[u8], from: usize) -> Option<u64> {
    if from >= b.len() || b.len() < 8 {
        return None;
    }
    let skip = 8 - (b.len() - from);
    let keep = u64::MAX << (8 * skip);
    Some((word(b, b.len() - 8) & keep) | ((LO * b'a' as u64) & !keep))
}

/// The index in `b` of the lowest byte `m` (from the last word of `b`) marks, or `b.len()`.
#[inline(always)]
fn at(b: &[u8], m: u64) -> usize {
    if m == 0 {
        b.len()
    } else {
        b.len() - 8 + (m.trailing_zeros() / 8) as usize
    }
}

/// The first index at or after `from` whose byte is `"` or `\`, or `b.len()`.
#[inline]
pub(super) fn quote_or_backslash(b: &[u8], mut from: usize) -> usize {
    while from + 8 <= b.len() {
        let w = word(b, from);
        let m = equal(w, b'"') | equal(w, b'\\');
        if m != 0 {
            return from + (m.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    if let Some(w) = tail(b, from) {
        let m = equal(w, b'"') | equal(w, b'\\');
        return at(b, m);
    }
    while from < b.len() && !matches!(b[from], b'"' | b'\\') {
        from += 1;
    }
    from
}

/// The first index at or after `from` whose byte JSON must escape (`"`, `\`, below 0x20), or
/// `b.len()`.
#[inline]
pub(super) fn needs_escape(b: &[u8], mut from: usize) -> usize {
    while from + 8 <= b.len() {
        let w = word(b, from);
        let m = equal(w, b'"') | equal(w, b'\\') | below(w, 0x20);
        if m != 0 {
            return from + (m.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    if let Some(w) = tail(b, from) {
        let m = equal(w, b'"') | equal(w, b'\\') | below(w, 0x20);
        return at(b, m);
    }
    while from < b.len() && !matches!(b[from], b'"' | b'\\' | 0..=0x1f) {
        from += 1;
    }
    from
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_special_byte_as_a_byte_loop_does() {
        // Every position and neighbour of each special byte, among bytes that may borrow
        // (0x80+, 0x00-0x21, just above the specials).
        let fill = [b'a', 0x80, 0xff, b'!', b'#', b']', 0x20, 0x21, 0x1f, 0x01];
        for len in 0..40 {
            for &f in &fill {
                for at in 0..=len {
                    for &s in &[b'"', b'\\', 0x00, 0x01, 0x1f, b'x'] {
                        let mut b = vec![f; len];
                        if at < len {
                            b[at] = s;
                        }
                        for from in 0..=len {
                            let q = (from..len).find(|&i| matches!(b[i], b'"' | b'\\')).unwrap_or(len);
                            let e = (from..len).find(|&i| matches!(b[i], b'"' | b'\\' | 0..=0x1f)).unwrap_or(len);
                            assert_eq!(quote_or_backslash(&b, from), q, "{b:?} from {from}");
                            assert_eq!(needs_escape(&b, from), e, "{b:?} from {from}");
                        }
                    }
                }
            }
        }
    }
}
