//! The spec of `scenario.rs`.

use super::*;

#[test]
fn builtins_exist_and_are_valid() {
    for name in BUILTIN {
        let s = Scenario::builtin(name).unwrap();
        for step in &s.steps {
            step.change.validate(&step.target).unwrap();
            if let Some(r) = s.repeat_every {
                assert!(step.at < r, "{name}");
            }
        }
    }
    assert!(Scenario::builtin("nope").is_none());
    assert!(matches!(Scenario::load("nope"), Err(ScenarioError::Unknown(_))));
}

#[test]
fn a_file_holds_thresholds_beside_its_steps_and_a_bad_one_is_named() {
    let s = Scenario::from_toml(
        "[[step]]\nat = 1\nbroker = \"broker-b\"\nhang = true\n[[threshold]]\nexpr = \"p99<500ms\"\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!((s.steps.len(), s.thresholds.len()), (1, 1));
    assert_eq!(s.thresholds[0].expr, "p99<500ms");
    let s = Scenario::from_toml(
        "[[stage]]\nduration = \"10s\"\nrate = 100\n[[stage]]\nduration = \"500ms\"\nrate = 0\n[burst]\nsize = 50\nevery = \"2s\"\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(s.stages.len(), 2);
    assert_eq!(s.stages[1].duration, Duration::from_millis(500));
    assert_eq!(s.burst.map(|b| (b.size, b.every)), Some((50, Duration::from_secs(2))));
    let e = Scenario::from_toml("[[stage]]\nduration = \"0s\"\nrate = 1\n", "t.toml").unwrap_err().to_string();
    assert!(e.contains("stage 1"), "{e}");
    let e = Scenario::from_toml("[[threshold]]\nexpr = \"p99<500\"\n", "t.toml").unwrap_err().to_string();
    assert!(e.contains("t.toml") && e.contains("p99<500") && e.contains("unit"), "{e}");
    assert!(Scenario::from_toml("[[threshold]]\nexp = \"p99<5ms\"\n", "t.toml").is_err());
}

#[test]
fn parses_the_documented_example() {
    let text = include_str!("scenario.rs")
        .lines()
        .skip_while(|l| !l.starts_with("//! ```toml"))
        .skip(1)
        .take_while(|l| !l.starts_with("//! ```"))
        .map(|l| l.trim_start_matches("//!").trim_start_matches(' '))
        .collect::<Vec<_>>()
        .join("\n");
    let s = Scenario::from_toml(&text, "x.toml").unwrap();
    assert_eq!(s.name, "slow-then-down");
    assert_eq!(s.repeat_every, Some(Duration::from_secs(60)));
    assert_eq!(s.steps.len(), 4);
    assert_eq!(s.steps[3].target, Target::NameServer);
    let mut f = BrokerFault::default();
    s.steps[0].change.apply_broker(&mut f);
    assert_eq!(f.latency, Duration::from_millis(700));
    s.steps[1].change.apply_broker(&mut f);
    assert!(f.down);
    s.steps[2].change.apply_broker(&mut f);
    assert!(f.is_healthy());
}

#[test]
fn errors_name_the_line_and_the_step() {
    let e = Scenario::from_toml("[[step]]\nat = 1\nbroker = \"b\"\nlatncy_ms = 5\n", "bad.toml").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("bad.toml") && msg.contains("line 4") && msg.contains("latncy_ms"), "{msg}");
    let e = Scenario::from_toml("[[step]]\nat = 1\nbroker = \"b\"\nerror = \"WHAT\"\n", "x.toml").unwrap_err();
    assert!(e.to_string().contains("step 1") && e.to_string().contains("WHAT"), "{e}");
    let e = Scenario::from_toml("[[step]]\nat = 1\nbroker = \"b\"\nstatus = \"SYSTEM_BUSY\"\n", "x.toml").unwrap_err();
    assert!(e.to_string().contains("status must be"), "{e}");
    let e = Scenario::from_toml("[[step]]\nat = 1\nlatency_ms = 3\n", "x.toml").unwrap_err();
    assert!(e.to_string().contains("say which server"), "{e}");
    let e =
        Scenario::from_toml("repeat_every = 5\n[[step]]\nat = 6\nbroker = \"b\"\nhang = true\n", "x.toml").unwrap_err();
    assert!(e.to_string().contains("repeat_every"), "{e}");
}

#[test]
fn namesrv_changes() {
    let s = Scenario::from_toml(
        "[[step]]\nat = 0\nnamesrv = true\ntopic_missing = \"T\"\nslow_ms = 5\n[[step]]\nat = 1\nnamesrv = true\ntopic_back = \"T\"\n",
        "n.toml",
    )
    .unwrap();
    let mut f = NameServerFault::default();
    s.steps[0].change.apply_namesrv(&mut f);
    assert!(f.topic_missing("T") && !f.topic_missing("U"));
    assert_eq!(f.latency, Duration::from_millis(5));
    s.steps[1].change.apply_namesrv(&mut f);
    assert!(!f.topic_missing("T"));
    assert_eq!(describe(&s.steps[0]), "name server: slow 5 ms, topic T missing");
}

#[test]
fn brokers_leave_and_rejoin_the_name_servers_list() {
    let s = Scenario::from_toml(
        "[[step]]\nat = 0\nnamesrv = true\nunregister = \"broker-c\"\n[[step]]\nat = 5\nnamesrv = true\nregister = \"broker-c\"\n",
        "u.toml",
    )
    .unwrap();
    assert_eq!(s.brokers(), ["broker-c"], "checked against the cluster's brokers");
    let mut f = NameServerFault::default();
    s.steps[0].change.apply_namesrv(&mut f);
    assert!(f.unregistered.contains("broker-c"));
    assert_eq!(f.to_string(), "unregistered: broker-c");
    assert_eq!(describe(&s.steps[0]), "name server: broker-c unregistered");
    s.steps[1].change.apply_namesrv(&mut f);
    assert!(f.unregistered.is_empty());
    let e = Scenario::from_toml("[[step]]\nat = 1\nbroker = \"broker-a\"\nunregister = \"broker-a\"\n", "x.toml");
    assert!(e.unwrap_err().to_string().contains("apply to the name server"));
}
