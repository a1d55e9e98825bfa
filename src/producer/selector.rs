//! `SelectMessageQueueByHash`: `abs(key.hashCode() % queues)` over the topic's publish queues
//! (brokers sorted by name, each broker's write queues in order), Java's `String.hashCode`
//! over UTF-16 code units, wrapping as Java's int does.

/// Java's `String.hashCode()`: `s[0]*31^(n-1) + … + s[n-1]` over UTF-16 code units, in i32.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// The index `SelectMessageQueueByHash.select` picks among `queues` (> 0) queues: Java's `%`
/// keeps the dividend's sign, then `Math.abs`.
pub fn hash_index(key: &str, queues: usize) -> usize {
    let value = java_string_hash(key) % queues as i32;
    value.unsigned_abs() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_as_java_strings_do() {
        // Values printed by `jshell` (JDK 17): "x".hashCode().
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("order-1"), -1_207_111_310);
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // A character outside the BMP is two UTF-16 code units.
        assert_eq!(java_string_hash("\u{1F600}"), 1_772_899);
        assert_eq!(java_string_hash("ключ"), 33_309_882);
    }

    #[test]
    fn picks_the_queue_java_picks() {
        // jshell: "order-1".hashCode() % 8 = -6, Math.abs → 6.
        assert_eq!(hash_index("order-1", 8), 6);
        assert_eq!(hash_index("hello", 8), 2);
        // i32::MIN % 7 = -2 → 2 (abs of the remainder, never of MIN itself).
        assert_eq!(hash_index("polygenelubricants", 7), 2);
        for n in 1..20 {
            assert!(hash_index("anything", n) < n);
        }
    }
}
