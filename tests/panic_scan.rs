//! A scan of the source for what could turn a peer's bytes, a file or a flag into a panic: every
//! `unwrap`, `expect`, `panic!` and `unreachable!` outside the tests is one of those reviewed
//! below (each an invariant of the program's own, never data from outside), and the numeric
//! `as` conversions of the modules that read outside data are counted per file, each count
//! reviewed. A new one fails this test until it is looked at: removed, or added here with why.

use std::collections::BTreeMap;
use std::path::Path;

/// (file, what the line holds, why it cannot fail on outside data).
const REVIEWED_PANICS: &[(&str, &str, &str)] = &[
    ("src/produce.rs", r#"expect("guarded")"#, "a select! branch guarded by is_some()"),
    ("src/record/writer.rs", r#"expect("guarded")"#, "a select! branch guarded by is_some()"),
    ("src/ui/mod.rs", r#"expect("guarded")"#, "a select! branch guarded by is_some()"),
    ("src/ui/mod.rs", "the settings' control is taken once", "taken once, right after the run starts"),
    ("src/ui/mod.rs", "MQTUI_TEST_PANIC", "test hooks that panic on purpose (tests/tmux_e2e.rs)"),
    ("src/ui/theme.rs", "the built-in dark theme parses", "a constant of the program's, tested"),
    ("src/stats/mod.rs", "valid histogram bounds", "constant bounds"),
    ("src/stats/live.rs", "valid bounds", "constant bounds"),
    ("src/stats/mod.rs", "just inserted", "inserted on the line before"),
    ("src/stats/live.rs", "just inserted", "inserted on the line before"),
    ("src/protocol/route.rs", "serializes", "serde_json of plain structs with string keys cannot fail"),
    ("src/remoting/acl.rs", "HMAC takes any key length", "Hmac::new_from_slice accepts every length"),
    ("src/remoting/command/scan.rs", "eight bytes", "a slice of exactly 8 bytes"),
    ("src/cli/config.rs", r#"expect("listed")"#, "a subcommand name read from the same command"),
    ("src/producer/sender.rs", "semaphore is never closed", "the program never closes these semaphores"),
    ("src/producer/transaction.rs", "a transaction is of one message", "Content refuses batches with transactions"),
    ("src/producer/load.rs", r#"expect("one message")"#, "a send of one message, checked by Content"),
];

/// Modules that read outside data (a peer's bytes, files, flags) and how many numeric `as`
/// conversions each holds, each reviewed: a widening (u8/u16/i16/u32 to a wider type, a length
/// to u64), a value already range-checked on the line before, or the program's own numbers
/// (lengths of what it encodes, durations it measured).
const REVIEWED_CASTS: &[(&str, usize)] = &[
    ("src/bounds.rs", 1),
    ("src/remoting/codec.rs", 1),
    ("src/remoting/codes.rs", 1),
    ("src/remoting/connection.rs", 3),
    ("src/remoting/server.rs", 1),
    ("src/remoting/command/binary.rs", 5),
    ("src/remoting/command/fast_json.rs", 8),
    ("src/remoting/command/json_fields.rs", 4),
    ("src/remoting/command/json_read.rs", 4),
    ("src/remoting/command/json_write.rs", 8),
    ("src/remoting/command/mod.rs", 23),
    ("src/remoting/command/scan.rs", 6),
    ("src/protocol/compress.rs", 2),
    ("src/protocol/message.rs", 8),
    ("src/protocol/message_ext.rs", 15),
    ("src/protocol/msgid.rs", 8),
    ("src/protocol/route.rs", 2),
    ("src/record/read.rs", 2),
    ("src/record/schema.rs", 4),
    ("src/record/writer.rs", 1),
    ("src/content/input.rs", 2),
    ("src/content/mod.rs", 6),
    ("src/cli/server.rs", 1),
    ("src/cluster/admin.rs", 3),
    ("src/cluster/broker.rs", 10),
    ("src/cluster/delay.rs", 2),
    ("src/cluster/fault.rs", 1),
    ("src/cluster/mod.rs", 3),
    ("src/cluster/transaction.rs", 1),
];

const OUTSIDE_DATA: &[&str] =
    &["src/remoting", "src/protocol", "src/record", "src/content", "src/cli", "src/cluster", "src/bounds.rs"];

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The file's code outside its tests, one logical line per line (a call split over lines is
/// joined: `.lock()\n.unwrap()`).
fn code(path: &Path) -> Vec<String> {
    let name = path.file_name().unwrap().to_string_lossy();
    if name == "tests.rs" || name.ends_with("_tests.rs") {
        return Vec::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut lines: Vec<String> = Vec::new();
    for l in text.lines() {
        let t = l.trim();
        if t.starts_with("//") {
            continue;
        }
        match lines.last_mut() {
            Some(prev) if t.starts_with('.') => prev.push_str(t),
            _ => lines.push(t.to_string()),
        }
    }
    lines
}

fn rel(p: &Path) -> String {
    p.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().display().to_string()
}

#[test]
fn every_panic_in_the_program_is_reviewed() {
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut unreviewed = Vec::new();
    for f in &files {
        let file = rel(f);
        for line in code(f) {
            let calls = ["unwrap()", ".expect(", "panic!(", "unreachable!(", "unimplemented!(", "todo!("];
            if !calls.iter().any(|c| line.contains(c)) {
                continue;
            }
            // A poisoned lock is a panic elsewhere already, not outside data.
            let lock = ["lock().unwrap()", "read().unwrap()", "write().unwrap()", "get_mut().unwrap()"];
            let stripped = lock.iter().fold(line.clone(), |l, p| l.replace(p, ""));
            if !calls.iter().any(|c| stripped.contains(c)) {
                continue;
            }
            if !REVIEWED_PANICS.iter().any(|(rf, what, _)| *rf == file && line.contains(what)) {
                unreviewed.push(format!("{file}: {line}"));
            }
        }
    }
    assert!(
        unreviewed.is_empty(),
        "not reviewed (remove it, or add it to REVIEWED_PANICS with why):\n{}",
        unreviewed.join("\n")
    );
}

#[test]
fn every_numeric_conversion_of_outside_data_is_reviewed() {
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut found: BTreeMap<String, usize> = BTreeMap::new();
    for f in &files {
        let file = rel(f);
        if !OUTSIDE_DATA.iter().any(|d| file.starts_with(d)) {
            continue;
        }
        let n: usize = code(f).iter().map(|l| casts(l)).sum();
        if n > 0 {
            found.insert(file, n);
        }
    }
    let reviewed: BTreeMap<String, usize> = REVIEWED_CASTS.iter().map(|(f, n)| (f.to_string(), *n)).collect();
    let mut diff = Vec::new();
    for (f, n) in &found {
        match reviewed.get(f) {
            Some(r) if r == n => {}
            r => diff.push(format!("{f}: {n} conversions, {} reviewed", r.copied().unwrap_or(0))),
        }
    }
    for f in reviewed.keys().filter(|f| !found.contains_key(*f)) {
        diff.push(format!("{f}: none left (take it out of REVIEWED_CASTS)"));
    }
    assert!(
        diff.is_empty(),
        "review each `as` of these files, then set its count in REVIEWED_CASTS:\n{}",
        diff.join("\n")
    );
}

/// How many ` as u8` … ` as f64` conversions a line holds.
fn casts(line: &str) -> usize {
    const TYPES: &[&str] = &["u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize", "f32", "f64"];
    let mut n = 0;
    let mut rest = line;
    while let Some(i) = rest.find(" as ") {
        let after = &rest[i + 4..];
        let word: String = after.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if TYPES.contains(&word.as_str()) {
            n += 1;
        }
        rest = after;
    }
    n
}
