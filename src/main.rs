#[global_allocator]
static GLOBAL: mqtui::alloc::MiMalloc = mqtui::alloc::MiMalloc;

use std::process::ExitCode;

use mqtui::cli::{ClusterArgs, Command};
use mqtui::cluster::{ClusterConfig, DemoCluster, Scenario};
use mqtui::{errln, outln};
use tokio::sync::watch;

/// Exit codes: 0 ok, 1 failures, 2 bad flags or config, 3 could not start, 4 a threshold failed,
/// 5 an output could not be written (mqtui::exit).
const EXIT_CONFIG: u8 = 2;
const EXIT_START: u8 = 3;
const EXIT_OUTPUT: u8 = mqtui::exit::EXIT_OUTPUT;

fn main() -> ExitCode {
    // A panic is a bug: one line on the operator's terminal and where the log is; the backtrace
    // goes to the log. (The console's hook, from ratatui, restores the terminal first.)
    mqtui::output::guard_std_fds();
    install_panic_hook();
    let cli = match mqtui::cli::parse() {
        Ok(cli) => cli,
        Err(e) => {
            errln!("mqtui: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let _guard = match mqtui::logging::init(&cli.log_level) {
        Ok(g) => Some(g),
        Err(e) => {
            errln!("mqtui: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // `produce` runs on one thread unless told otherwise: its hot path is cheap, cross-thread
    // wake-ups are not (see README, benchmarks), and the other core is left to the cluster.
    // The console, too: its producer gets a thread of its own (ui::Engine); the UI needs one.
    let single = matches!(cli.command, Some(Command::Produce(_)) | None);
    let rt = match runtime(single) {
        Ok(rt) => rt,
        Err(e) => {
            errln!("mqtui: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_START);
        }
    };
    match cli.command {
        Some(Command::Report(args)) => exit(mqtui::offline::report(&args)),
        Some(Command::Compare(args)) => exit(mqtui::offline::compare(&args)),
        Some(Command::Replay(args)) => rt.block_on(async { exit(mqtui::ui::replay::run(args).await) }),
        Some(Command::Cluster(args)) => rt.block_on(run_cluster(args)),
        Some(Command::Route(args)) => rt.block_on(async {
            let ns = mqtui::producer::parse_namesrvs(&args.namesrv);
            let tls = match args.tls.client() {
                Ok(t) => t,
                Err(e) => return exit(Err(mqtui::produce::StartError::config(e))),
            };
            exit(mqtui::admin::route(&ns, &args.topic, args.json, tls).await)
        }),
        Some(Command::Topic(mqtui::cli::TopicCommand::Create(args))) => rt.block_on(async {
            let ns = mqtui::producer::parse_namesrvs(&args.namesrv);
            let tls = match args.tls.client() {
                Ok(t) => t,
                Err(e) => return exit(Err(mqtui::produce::StartError::config(e))),
            };
            exit(
                mqtui::admin::create_topic(
                    &ns,
                    &args.topic,
                    args.cluster.as_deref(),
                    args.queues,
                    args.perm,
                    args.acl(),
                    tls,
                )
                .await,
            )
        }),
        Some(Command::Produce(args)) => rt.block_on(async {
            let (cancel_tx, cancel_rx) = watch::channel(false);
            tokio::spawn(async move {
                wait_for_stop().await;
                let _ = cancel_tx.send(true);
            });
            match mqtui::produce::run(args, cancel_rx).await {
                Ok(code) => ExitCode::from(code),
                Err(e) => {
                    errln!("mqtui: {}", e.message);
                    ExitCode::from(e.code)
                }
            }
        }),
        None => rt.block_on(async {
            match mqtui::ui::run(cli.console).await {
                Ok(code) => ExitCode::from(code),
                Err(e) => {
                    errln!("mqtui: {}", e.message);
                    ExitCode::from(e.code)
                }
            }
        }),
    }
}

fn exit(r: Result<u8, mqtui::produce::StartError>) -> ExitCode {
    match r {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            errln!("mqtui: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// The async runtime: `MQTUI_WORKER_THREADS` workers (1 = the current thread only, no
/// cross-thread wake-ups); by default one thread when `single`, else one per core.
fn runtime(single: bool) -> std::io::Result<tokio::runtime::Runtime> {
    let threads = std::env::var("MQTUI_WORKER_THREADS").ok().and_then(|t| t.parse::<usize>().ok());
    match threads.or(single.then_some(1)) {
        Some(1) => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        Some(n) if n > 1 => tokio::runtime::Builder::new_multi_thread().worker_threads(n).enable_all().build(),
        _ => tokio::runtime::Runtime::new(),
    }
}

async fn run_cluster(args: ClusterArgs) -> ExitCode {
    let scenario = match Scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            errln!("mqtui: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let tls = match (&args.tls_cert, &args.tls_key, args.tls) {
        (Some(cert), Some(key), _) => match mqtui::remoting::tls::TlsServer::from_files(cert, key) {
            Ok(t) => Some(t),
            Err(e) => {
                errln!("mqtui: {e}");
                return ExitCode::from(EXIT_CONFIG);
            }
        },
        (_, _, true) => {
            let made = mqtui::remoting::tls::TlsServer::self_signed(&[args.bind.to_string()]);
            let out = args.tls_cert_out.clone().unwrap_or_else(|| std::env::temp_dir().join("mqtui-cluster-cert.pem"));
            match made.and_then(|t| {
                std::fs::write(&out, &t.cert_pem).map(|_| t).map_err(|e| format!("{}: {e}", out.display()))
            }) {
                Ok(t) => {
                    let said = outln!(
                        "TLS: serving a certificate made now, written to {} (clients: --tls-ca {0})",
                        out.display()
                    );
                    if let Err(e) = said {
                        errln!("mqtui: {e}");
                        return ExitCode::from(EXIT_OUTPUT);
                    }
                    Some(t)
                }
                Err(e) => {
                    errln!("mqtui: cannot make the TLS certificate: {e}");
                    return ExitCode::from(EXIT_START);
                }
            }
        }
        _ => None,
    };
    if let (Some(_), Some(cert)) = (&tls, &args.tls_cert) {
        if let Err(e) = outln!("TLS: serving {}", cert.display()) {
            errln!("mqtui: {e}");
            return ExitCode::from(EXIT_OUTPUT);
        }
    }
    let cfg = ClusterConfig {
        brokers: args.brokers as usize,
        namesrv_addr: args.namesrv_addr(),
        broker_base_port: args.broker_port,
        queues: args.queues,
        acl: args.acl.clone(),
        tls,
        limits: args.server.limits(),
        ..ClusterConfig::default()
    };
    let cluster = match DemoCluster::start(cfg).await {
        Ok(c) => c,
        Err(e) => {
            errln!("mqtui: {e}");
            return ExitCode::from(EXIT_START);
        }
    };
    if let Err(e) = cluster.check_scenario(&scenario) {
        errln!("mqtui: scenario {}: {e}", scenario.name);
        return ExitCode::from(EXIT_CONFIG);
    }
    let mut text = format!("name server: {}\n", cluster.namesrv_addr());
    for name in cluster.broker_names() {
        if let Some(addr) = cluster.broker_addr(&name) {
            text += &format!("broker {name}: {addr}\n");
        }
    }
    text += &format!(
        "scenario: {} ({})\nlogs: {}\nCtrl-C stops the cluster and prints what each broker stored.\n",
        scenario.name,
        if scenario.description.is_empty() { "no description" } else { &scenario.description },
        mqtui::logging::log_dir().join("mqtui.log").display()
    );
    if let Err(e) = mqtui::output::write_stdout(text.as_bytes()) {
        errln!("mqtui: {e}");
        cluster.shutdown();
        return ExitCode::from(EXIT_OUTPUT);
    }
    let mut events = cluster.subscribe();
    let _ = cluster.run_scenario(scenario);
    // The scenario's steps as they come; a stdout that cannot take them stops the cluster.
    let mut printer = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ev) if ev.text.starts_with("scenario ") => outln!("{:>8.1}s  {}", ev.at.as_secs_f64(), ev.text)?,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok::<(), String>(()),
            }
        }
    });
    let failed = tokio::select! {
        _ = wait_for_stop() => None,
        r = &mut printer => r.ok().and_then(|r| r.err()),
    };
    printer.abort();
    cluster.shutdown();
    if let Some(e) = failed {
        errln!("mqtui: {e}: the cluster stopped");
        return ExitCode::from(EXIT_OUTPUT);
    }
    if let Err(e) = mqtui::output::write_stdout(stats_text(&cluster).as_bytes()) {
        errln!("mqtui: {e}");
        return ExitCode::from(EXIT_OUTPUT);
    }
    ExitCode::SUCCESS
}

/// Ctrl-C, SIGTERM or SIGHUP (the terminal or session went away): each ends a run the same
/// way, with its summary and its recording whole.
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (term, hup) = (signal(SignalKind::terminate()), signal(SignalKind::hangup()));
        let (Ok(mut term), Ok(mut hup)) = (term, hup) else {
            tracing::warn!("cannot listen for SIGTERM and SIGHUP; Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// One line for the operator, the whole report (with a backtrace) in the log.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
        let backtrace = std::backtrace::Backtrace::force_capture();
        tracing::error!("panic in thread '{thread}': {info}\n{backtrace}");
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let log = mqtui::logging::log_dir().join("mqtui.log");
        errln!("mqtui: internal error (a bug): {what}{at}; the details are in {}", log.display());
    }));
}

/// What each broker stored, for the end of `mqtui cluster`.
fn stats_text(cluster: &DemoCluster) -> String {
    use std::fmt::Write;
    let mut out = String::from("\n");
    let _ = writeln!(
        out,
        "{:<10} {:<21} {:>10} {:>10} {:>10} {:>12} {:>10} {:>8} {:>10}",
        "broker", "address", "requests", "sends", "messages", "distinct ids", "duplicates", "faulted", "delayed"
    );
    for s in cluster.stats() {
        let delayed = if s.delayed > 0 { format!("{}/{} due", s.delayed_due, s.delayed) } else { "0".into() };
        let _ = writeln!(
            out,
            "{:<10} {:<21} {:>10} {:>10} {:>10} {:>12} {:>10} {:>8} {:>10}",
            s.name, s.addr, s.requests, s.sends, s.messages, s.distinct_keys, s.duplicate_keys, s.faulted, delayed
        );
    }
    for s in cluster.stats().iter().filter(|s| s.ordered > 0) {
        let _ = writeln!(
            out,
            "{}: {} ordered messages, {} keys first seen here, {} out of send order, {} moved to another queue",
            s.name, s.ordered, s.ordered_keys, s.ordered_out_of_order, s.ordered_moved
        );
    }
    let stats = cluster.stats();
    let half: u64 = stats.iter().map(|s| s.half).sum();
    if half > 0 {
        let sum = |f: fn(&mqtui::cluster::BrokerStats) -> u64| stats.iter().map(f).sum::<u64>();
        let _ = writeln!(
            out,
            "transactions: {half} half messages, {} committed, {} rolled back, {} ended unknown, {} check-backs sent, {} discarded, {} pending",
            sum(|s| s.committed),
            sum(|s| s.rolled_back),
            sum(|s| s.end_unknown),
            sum(|s| s.check_backs),
            sum(|s| s.discarded),
            sum(|s| s.half_pending)
        );
    }
    let _ = writeln!(out, "name server requests: {}", cluster.namesrv_requests());
    out
}
