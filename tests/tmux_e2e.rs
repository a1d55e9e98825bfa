//! The real binary in a real terminal, driven as a person would: tmux send-keys and
//! capture-pane. Start `mqtui`, see the three brokers, select one and press `k`, see it go
//! DOWN and the retries in the log, `c` clears it and it comes back, `?` shows help, `q` quits
//! and the shell prompt works again. Needs tmux (.ci/run installs it); without it the test
//! says so and passes, except under CI=true.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    /// A tmux server of its own (`tag` names it and the log folder) with a bare shell in a
    /// `w`×`h` window, at its prompt.
    fn shell(tag: &str, w: u16, h: u16) -> (Tmux, std::path::PathBuf) {
        let tmux = Tmux { socket: format!("mqtui-e2e-{tag}-{}", std::process::id()) };
        let logs = std::env::temp_dir().join(format!("mqtui-e2e-{tag}-logs-{}", std::process::id()));
        let (w, h) = (w.to_string(), h.to_string());
        tmux.run(&["new-session", "-d", "-s", "e2e", "-x", &w, "-y", &h, "env PS1='e2e$ ' bash --norc --noprofile"]);
        tmux.wait_for("the shell prompt", 10, |s| s.contains("e2e$"));
        (tmux, logs)
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.run(&args);
    }
    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }
    /// Waits until the screen satisfies `ok`; panics with the last screen after `secs`.
    fn wait_for(&self, what: &str, secs: u64, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(secs) {
                panic!("waited {secs} s for {what}; the screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Tmux {
    /// Filters the log on attempts that failed on `broker`, waits for one retried onto a broker
    /// whose name starts with `onto`, and clears the filter.
    fn see_retries_around(&self, broker: &str, onto: &str) {
        let failed = format!("{broker} ✕");
        self.keys(&["/"]);
        self.keys(&["-l", &failed]);
        self.keys(&["Enter"]);
        self.wait_for("a retried send in the log", 10, |s| {
            s.lines().any(|l| l.contains("SEND_OK") && l.contains(&failed) && l.contains(&format!("→ {onto}")))
        });
        self.keys(&["Escape"]);
        // As a person would, look before the next key: an Escape followed at once by another key
        // reaches the program as one Alt-key sequence.
        self.wait_for("the filter cleared", 5, |s| !s.contains("filter: "));
    }

    /// `c` on the selected `broker`: healthy at once, then OK and sent to again once its
    /// isolation window has passed.
    fn clear_and_see_it_used_again(&self, broker: &str) {
        self.keys(&["c"]);
        let attempts = |s: &str| -> u64 {
            broker_row(s, broker).split_whitespace().nth(3).and_then(|n| n.replace(',', "").parse().ok()).unwrap_or(0)
        };
        let n0 = attempts(&self.wait_for("the broker healthy", 5, |s| broker_row(s, broker).contains("healthy")));
        self.wait_for("the broker OK and used again", 20, |s| {
            broker_row(s, broker).contains(" OK ") && attempts(s) > n0
        });
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

fn broker_row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(name) && (l.contains(" OK ") || l.contains("DOWN") || l.contains("ISOLATED")))
        .unwrap_or("")
}

#[test]
fn a_person_isolates_a_broker_and_brings_it_back() {
    if !common::needs_tmux() {
        return;
    }
    let (tmux, logs) = Tmux::shell("main", 160, 48);
    let state = std::env::temp_dir().join(format!("mqtui-e2e-state-{}", std::process::id()));
    let cmd = format!(
        "MQTUI_LOG_DIR={} MQTUI_STATE_DIR={} {} --scenario healthy --rate 100",
        logs.display(),
        state.display(),
        env!("CARGO_BIN_EXE_mqtui")
    );
    tmux.keys(&[&cmd, "Enter"]);

    // The three brokers, sends flowing.
    tmux.wait_for("three brokers and sends", 20, |s| {
        ["broker-a", "broker-b", "broker-c"].iter().all(|b| !broker_row(s, b).is_empty()) && s.contains("SEND_OK")
    });

    // Select broker-b, take it down.
    tmux.keys(&["Down"]);
    tmux.wait_for("broker-b selected", 5, |s| broker_row(s, "broker-b").contains('▶'));
    tmux.keys(&["k"]);
    // DOWN when connecting is refused, ISOLATED when the open connection was lost first.
    let s = tmux.wait_for("broker-b DOWN or ISOLATED", 10, |s| {
        let row = broker_row(s, "broker-b");
        row.contains("DOWN") || row.contains("ISOLATED")
    });
    assert!(broker_row(&s, "broker-b").contains("down"), "the injected column says down");
    // The retries, in the log; then clear it: it comes back once its isolation window (10 s) ends.
    tmux.see_retries_around("broker-b", "broker-");
    tmux.clear_and_see_it_used_again("broker-b");

    // The cluster view.
    tmux.keys(&["v"]);
    tmux.wait_for("the cluster view", 10, |s| {
        s.contains("cluster DemoCluster") && s.contains("writable queue(s)") && s.contains("duplicates")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("cluster view closed", 5, |s| !s.contains("cluster DemoCluster"));

    // Help, from the key map.
    tmux.keys(&["?"]);
    tmux.wait_for("the help overlay", 5, |s| s.contains("Help") && s.contains("show or hide this help"));
    tmux.keys(&["Escape"]);
    tmux.wait_for("help closed", 5, |s| !s.contains("show or hide this help"));

    // Compose one message with a property and a sharding key: its own result opens when it
    // completes; the next `s` on the topic starts from it.
    tmux.keys(&["s"]);
    tmux.wait_for("the compose form", 5, |s| s.contains("Send one message") && s.contains("hello from mqtui"));
    for _ in 0..4 {
        tmux.keys(&["Tab"]); // body → topic → tag → keys → props
    }
    tmux.keys(&["-l", "region=eu"]);
    tmux.keys(&["Tab", "Tab"]); // → delay → key
    tmux.keys(&["-l", "order-9"]);
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the composed message's result", 10, |s| {
        s.contains("The message you composed") && s.contains("SEND_OK") && s.contains("stored")
    });
    assert!(s.contains("order-9 (ordered"), "its sharding key: {s}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("the result closed", 5, |s| !s.contains("The message you composed"));
    tmux.keys(&["s"]);
    tmux.wait_for("the remembered message", 5, |s| s.contains("Send one message") && s.contains("region=eu"));
    tmux.keys(&["Escape"]);
    tmux.wait_for("the form closed", 5, |s| !s.contains("Send one message"));
    let _ = std::fs::remove_dir_all(&state);

    // Quit: the terminal is restored and the shell works.
    tmux.keys(&["q"]);
    tmux.wait_for("the prompt again", 10, |s| s.contains("e2e$") && !s.contains("Brokers"));
    tmux.keys(&["echo still-$((40+2))", "Enter"]);
    tmux.wait_for("the shell answering", 5, |s| s.contains("still-42"));
}

/// Ctrl-C and SIGTERM leave the terminal as it was, and the run's totals on it.
#[test]
fn ctrl_c_and_sigterm_restore_the_terminal() {
    if !common::needs_tmux() {
        return;
    }
    let (tmux, logs) = Tmux::shell("sig", 120, 40);
    let bin = env!("CARGO_BIN_EXE_mqtui");
    // A topic only this run uses, to find its process.
    let marker = format!("E2eSig{}", std::process::id());
    let cmd = format!("MQTUI_LOG_DIR={} {bin} --scenario healthy --rate 50 --topic {marker}", logs.display());

    tmux.keys(&[&cmd, "Enter"]);
    tmux.wait_for("the console", 20, |s| s.contains("Brokers"));
    tmux.keys(&["C-c"]);
    tmux.wait_for("the prompt after Ctrl-C", 10, |s| {
        s.contains("mqtui: sent") && !s.contains("Brokers") && s.lines().filter(|l| l.starts_with("e2e$")).count() >= 2
    });

    tmux.keys(&["clear", "Enter"]);
    tmux.keys(&[&format!("{cmd}; echo after-term"), "Enter"]);
    tmux.wait_for("the console again", 20, |s| s.contains("Brokers"));
    // SIGTERM from outside, as a process manager would send it.
    let killed = Command::new("pkill").args(["-TERM", "-f", &marker]).status().expect("pkill");
    assert!(killed.success());
    tmux.wait_for("the prompt after SIGTERM", 20, |s| {
        s.contains("after-term") && s.contains("mqtui: sent") && !s.contains("Brokers")
    });
}

/// A panic (a bug in a panel, say) still leaves the terminal usable: raw mode off, the main
/// screen back, the panic report on it, the shell answering.
#[test]
fn a_panic_restores_the_terminal() {
    if !common::needs_tmux() {
        return;
    }
    let (tmux, logs) = Tmux::shell("panic", 120, 40);
    let bin = env!("CARGO_BIN_EXE_mqtui");
    let cmd = format!(
        "RUST_BACKTRACE=0 MQTUI_TEST_PANIC_AFTER_MS=3000 MQTUI_LOG_DIR={} {bin} --scenario healthy --rate 50; echo exit=$?",
        logs.display()
    );
    tmux.keys(&[&cmd, "Enter"]);
    tmux.wait_for("the console", 20, |s| s.contains("Brokers"));
    tmux.wait_for("the panic report and the prompt", 20, |s| {
        s.contains("a panic on purpose") && s.contains("exit=101") && !s.contains("Brokers")
    });
    // Cooked mode again: the line discipline echoes and edits (raw mode would show neither).
    tmux.keys(&["stty -a | tr ' ' '\\n' | grep -x -e icanon -e echo | sort | tr '\\n' ' '; echo", "Enter"]);
    tmux.wait_for("icanon and echo on", 5, |s| s.contains("echo icanon"));
    tmux.keys(&["echo still-$((40+2))", "Enter"]);
    tmux.wait_for("the shell answering", 5, |s| s.contains("still-42"));

    // A panic in a task on the producer's thread (tokio would survive it): the console ends,
    // restores the terminal and says what happened, instead of printing over the screen.
    tmux.keys(&["clear", "Enter"]);
    let cmd = format!(
        "RUST_BACKTRACE=0 MQTUI_TEST_PANIC_THREAD=producer MQTUI_TEST_PANIC_AFTER_MS=3000 MQTUI_LOG_DIR={} {bin} \
         --scenario healthy --rate 50; echo exit=$?",
        logs.display()
    );
    tmux.keys(&[&cmd, "Enter"]);
    tmux.wait_for("the console", 20, |s| s.contains("Brokers"));
    tmux.wait_for("the internal error and the prompt", 20, |s| {
        s.contains("internal error, the console stopped")
            && s.contains("mqtui-producer")
            && s.contains("exit=101")
            && !s.contains("Brokers")
    });
    tmux.keys(&["stty -a | tr ' ' '\\n' | grep -x -e icanon -e echo | sort | tr '\\n' ' '; echo", "Enter"]);
    tmux.wait_for("icanon and echo on", 5, |s| s.matches("echo icanon").count() >= 1);
    tmux.run(&["kill-server"]);
}

/// `--chaos` against the real peer (rocketmq-rust): the down key on a broker's proxy isolates it
/// and sends go around it; clearing brings it back. Needs MQTUI_PEER_NAMESRV (.ci/run sets it).
#[test]
fn chaos_on_a_real_cluster() {
    let Some(ns) = common::needs_env("MQTUI_PEER_NAMESRV", "scripts/test starts the real peer") else {
        return;
    };
    chaos_walk(&ns, "Rust");
}

/// The same on Apache RocketMQ's own name server and brokers. Needs MQTUI_APACHE_NAMESRV.
#[test]
fn chaos_on_apache_rocketmq() {
    let Some(ns) = common::apache::namesrv() else { return };
    chaos_walk(&ns, "Apache");
}

/// A person runs the console with --chaos on a real cluster, selects broker-b, takes it down
/// (`k`), sees it isolated and sends retried around it, clears it (`c`), sees it used again.
fn chaos_walk(ns: &str, kind: &str) {
    if !common::needs_tmux() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_mqtui");
    let topic = format!("MqtuiChaos{kind}{}", std::process::id());
    common::create_topic(ns, &topic);

    let (tmux, logs) = Tmux::shell(&format!("chaos-{kind}"), 160, 48);
    let cmd = format!("MQTUI_LOG_DIR={} {bin} --namesrv {ns} --chaos --topic {topic} --rate 100", logs.display());
    tmux.keys(&[&cmd, "Enter"]);
    tmux.wait_for("the console, CHAOS, both brokers sending", 20, |s| {
        s.contains("CHAOS")
            && !broker_row(s, "broker-a").is_empty()
            && !broker_row(s, "broker-b").is_empty()
            && s.contains("SEND_OK")
    });
    tmux.keys(&["Down"]);
    tmux.wait_for("broker-b selected", 5, |s| broker_row(s, "broker-b").contains('▶'));
    tmux.keys(&["k"]);
    tmux.wait_for("broker-b isolated behind its proxy", 10, |s| {
        let row = broker_row(s, "broker-b");
        (row.contains("DOWN") || row.contains("ISOLATED")) && row.contains("down")
    });
    tmux.see_retries_around("broker-b", "broker-a");
    tmux.clear_and_see_it_used_again("broker-b");
    tmux.keys(&["q"]);
    tmux.wait_for("the prompt again", 10, |s| s.contains("mqtui: sent") && !s.contains("Brokers"));
}

/// `mqtui --threshold`: the header says which one fails as the run goes; quitting prints each
/// verdict under the run's totals and exits 4, as `mqtui produce` does.
#[test]
fn console_thresholds_show_live_and_decide_the_exit_code() {
    if !common::needs_tmux() {
        return;
    }
    let (tmux, logs) = Tmux::shell("thr", 160, 40);
    let bin = env!("CARGO_BIN_EXE_mqtui");
    let cmd = format!(
        "MQTUI_LOG_DIR={} {bin} --scenario healthy --rate 50 --threshold 'sent<1' --threshold failed=0; echo exit=$?",
        logs.display()
    );
    tmux.keys(&[&cmd, "Enter"]);
    tmux.wait_for("the failing threshold in the header", 20, |s| {
        s.lines().nth(1).is_some_and(|l| l.contains("✗ sent<1 at "))
    });
    tmux.keys(&["q"]);
    // (The typed command holds "exit=$?" too: wait for a number after it.)
    let exit = |s: &str| s.lines().find_map(|l| l.trim().strip_prefix("exit=").and_then(|n| n.parse::<u8>().ok()));
    let s = tmux.wait_for("the verdicts and the exit code", 20, |s| exit(s).is_some());
    assert!(s.contains("mqtui: thresholds 1 passed, 1 failed"), "{s}");
    assert!(s.contains("FAIL sent<1  (measured ") && s.contains("PASS failed=0  (measured 0)"), "{s}");
    assert_eq!(exit(&s), Some(4), "{s}");
}
