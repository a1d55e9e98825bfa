#[global_allocator]
static GLOBAL: mqtui::alloc::MiMalloc = mqtui::alloc::MiMalloc;

use std::process::ExitCode;

use mqtui::cli::{ClusterArgs, Command};
use mqtui::cluster::{ClusterConfig, DemoCluster, Scenario};
use tokio::sync::watch;

/// Exit codes: 0 ok, 1 failures, 2 bad flags or config, 3 could not start.
const EXIT_CONFIG: u8 = 2;
const EXIT_START: u8 = 3;

fn main() -> ExitCode {
    // Readable panic reports; the console's own hook (ratatui::init) restores the terminal first.
    let _ = color_eyre::install();
    let cli = match mqtui::cli::parse() {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("mqtui: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let _guard = match mqtui::logging::init(&cli.log_level) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("mqtui: {e}");
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
            eprintln!("mqtui: cannot start the async runtime: {e}");
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
                    eprintln!("mqtui: {}", e.message);
                    ExitCode::from(e.code)
                }
            }
        }),
        None => rt.block_on(async {
            match mqtui::ui::run(cli.console).await {
                Ok(code) => ExitCode::from(code),
                Err(e) => {
                    eprintln!("mqtui: {}", e.message);
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
            eprintln!("mqtui: {}", e.message);
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
            eprintln!("mqtui: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let tls = match (&args.tls_cert, &args.tls_key, args.tls) {
        (Some(cert), Some(key), _) => match mqtui::remoting::tls::TlsServer::from_files(cert, key) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("mqtui: {e}");
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
                    println!(
                        "TLS: serving a certificate made now, written to {} (clients: --tls-ca {0})",
                        out.display()
                    );
                    Some(t)
                }
                Err(e) => {
                    eprintln!("mqtui: cannot make the TLS certificate: {e}");
                    return ExitCode::from(EXIT_START);
                }
            }
        }
        _ => None,
    };
    if let (Some(_), Some(cert)) = (&tls, &args.tls_cert) {
        println!("TLS: serving {}", cert.display());
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
            eprintln!("mqtui: {e}");
            return ExitCode::from(EXIT_START);
        }
    };
    if let Err(e) = cluster.check_scenario(&scenario) {
        eprintln!("mqtui: scenario {}: {e}", scenario.name);
        return ExitCode::from(EXIT_CONFIG);
    }
    println!("name server: {}", cluster.namesrv_addr());
    for name in cluster.broker_names() {
        if let Some(addr) = cluster.broker_addr(&name) {
            println!("broker {name}: {addr}");
        }
    }
    println!(
        "scenario: {} ({})",
        scenario.name,
        if scenario.description.is_empty() { "no description" } else { &scenario.description }
    );
    println!("logs: {}", mqtui::logging::log_dir().join("mqtui.log").display());
    println!("Ctrl-C stops the cluster and prints what each broker stored.");
    let mut events = cluster.subscribe();
    let _ = cluster.run_scenario(scenario);
    let printer = tokio::spawn(async move {
        while let Ok(ev) = events.recv().await {
            if ev.text.starts_with("scenario ") {
                println!("{:>8.1}s  {}", ev.at.as_secs_f64(), ev.text);
            }
        }
    });
    wait_for_stop().await;
    printer.abort();
    cluster.shutdown();
    print_stats(&cluster);
    ExitCode::SUCCESS
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn print_stats(cluster: &DemoCluster) {
    println!();
    println!(
        "{:<10} {:<21} {:>10} {:>10} {:>10} {:>12} {:>10} {:>8} {:>10}",
        "broker", "address", "requests", "sends", "messages", "distinct ids", "duplicates", "faulted", "delayed"
    );
    for s in cluster.stats() {
        let delayed = if s.delayed > 0 { format!("{}/{} due", s.delayed_due, s.delayed) } else { "0".into() };
        println!(
            "{:<10} {:<21} {:>10} {:>10} {:>10} {:>12} {:>10} {:>8} {:>10}",
            s.name, s.addr, s.requests, s.sends, s.messages, s.distinct_keys, s.duplicate_keys, s.faulted, delayed
        );
    }
    for s in cluster.stats().iter().filter(|s| s.ordered > 0) {
        println!(
            "{}: {} ordered messages, {} keys first seen here, {} out of send order, {} moved to another queue",
            s.name, s.ordered, s.ordered_keys, s.ordered_out_of_order, s.ordered_moved
        );
    }
    let stats = cluster.stats();
    let half: u64 = stats.iter().map(|s| s.half).sum();
    if half > 0 {
        let sum = |f: fn(&mqtui::cluster::BrokerStats) -> u64| stats.iter().map(f).sum::<u64>();
        println!(
            "transactions: {half} half messages, {} committed, {} rolled back, {} ended unknown, {} check-backs sent, {} discarded, {} pending",
            sum(|s| s.committed),
            sum(|s| s.rolled_back),
            sum(|s| s.end_unknown),
            sum(|s| s.check_backs),
            sum(|s| s.discarded),
            sum(|s| s.half_pending)
        );
    }
    println!("name server requests: {}", cluster.namesrv_requests());
}
