//! One run, whatever reads it: the target (demo cluster, name servers, `--chaos` proxies and
//! their scenario), the producer, the route, the load settings and their control, the load
//! driver, the recorder, and the end (check-backs answered, UNREGISTER_CLIENT, the recording
//! closed, the demo cluster stopped). The console and `mqtui produce` start a [`Run`] and read
//! its events; they build nothing of it themselves (as trippy's `app.rs` wires a trace its
//! frontends only consume).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{
    content, load_settings, producer_config, run_info, start_chaos, start_recorder, target, unreachable_brokers,
    StartError, Target,
};
use crate::cli::ProducerArgs;
use crate::content::Content;
use crate::producer::load::{self, LoadSettings, LoadStatus, StopAfter};
use crate::producer::{EventStream, Producer, SendOutcome, TopicPublishInfo};
use crate::report::RunInfo;
use crate::stats::threshold::Threshold;

/// How a front end wants its run started.
pub struct RunOptions {
    /// "produce" or "console": the recording and its report say which ran.
    pub command: &'static str,
    /// The scenario of the demo cluster when none is named ("healthy" headless, "demo" in the
    /// console).
    pub default_scenario: &'static str,
    /// The rate when no --rate is given (`None`: as fast as the in-flight limit allows).
    pub default_rate: Option<f64>,
    /// Headless: a route that cannot be looked up, or no reachable broker, ends the command
    /// (exit 3). The console starts anyway and shows why among its warnings.
    pub strict: bool,
    /// --threshold (the scenario's `[[threshold]]`s are added).
    pub thresholds: Vec<Threshold>,
}

/// A run that has been set up; [`Run::start_sending`] starts its load.
pub struct Run {
    pub target: Target,
    pub producer: Producer,
    /// The route of the main topic, as first looked up (none if that failed, in the console).
    pub route: Option<Arc<TopicPublishInfo>>,
    /// What the operator should know from the start (brokers not reachable, no route yet).
    pub warnings: Vec<String>,
    /// The settings the run starts with (the console changes them through [`Run::settings`]).
    pub initial: LoadSettings,
    pub info: RunInfo,
    /// --threshold and the scenario's `[[threshold]]`s.
    pub thresholds: Vec<Threshold>,
    /// The load driver's live state (how far behind its schedule it is, sends not started).
    pub status: Arc<LoadStatus>,
    /// When the producer was created (--start-delay-ms counts from here).
    pub producer_started: Instant,
    /// The main topic (the first of --input's when its lines all name their own).
    pub topic: String,
    settings_tx: Option<watch::Sender<LoadSettings>>,
    settings_rx: watch::Receiver<LoadSettings>,
    stop_tx: Arc<watch::Sender<bool>>,
    stop_rx: watch::Receiver<bool>,
    args: ProducerArgs,
    content: Option<Content>,
    _chaos_task: Option<JoinHandle<()>>,
    recorder: Option<crate::record::Recorder>,
    driver: Option<JoinHandle<u64>>,
    cluster_task: Option<JoinHandle<()>>,
}

/// How a run ended, for its recording.
pub struct RunEnd {
    pub elapsed: Duration,
    pub aborted_by: Option<String>,
}

impl Run {
    /// Sets the run up (on the runtime the producer is to live on): checks the content, starts
    /// the target, makes the producer, looks the main topic up, puts the chaos proxies in place.
    pub async fn start(args: &ProducerArgs, opts: RunOptions) -> Result<Run, StartError> {
        crate::protocol::message::validate_topic(&args.topic).map_err(|e| StartError::config(e.to_string()))?;
        let content = content(args)?;
        let topic = content.topics()[0].to_string();
        let target = target(args, opts.default_scenario).await?;
        let producer = Producer::new(producer_config(args, &target));
        let producer_started = Instant::now();
        let initial = load_settings(args, &target, opts.default_rate)?;
        let mut warnings = Vec::new();
        // Headless waits for the lookup's own timeouts (one per name server); the console
        // opens within 5 s whatever the name servers do.
        let lookup = match opts.strict {
            true => producer.lookup(&topic).await.map_err(|e| e.to_string()),
            false => match tokio::time::timeout(Duration::from_secs(5), producer.lookup(&topic)).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err("route lookup did not answer within 5 s".to_string()),
            },
        };
        let route = match lookup {
            Ok(route) => Some(route),
            Err(e) if opts.strict => return Err(StartError::start(format!("cannot start: {e}"))),
            Err(e) => {
                warnings.push(e);
                None
            }
        };
        let mut chaos_task = None;
        if let Some(route) = &route {
            chaos_task = start_chaos(&target, route).await?;
            // Can this host reach the brokers the route names? (A container-internal address
            // is the usual reason it cannot.)
            let unreachable = unreachable_brokers(route).await;
            if !unreachable.is_empty() {
                let lines: Vec<String> = unreachable.iter().map(|(b, a, e)| format!("{b} at {a}: {e}")).collect();
                let hint = "the route's broker addresses are what the brokers registered (brokerIP1); if they \
                            are container-internal or private addresses, set brokerIP1 to one clients can reach";
                if opts.strict && unreachable.len() == route.brokers.len() {
                    return Err(StartError::start(format!(
                        "cannot start: no broker of topic {topic} is reachable from here: {}; {hint}",
                        lines.join("; ")
                    )));
                }
                warnings.push(format!(
                    "some brokers of topic {topic} are not reachable from here: {}; {hint}",
                    lines.join("; ")
                ));
            }
        }
        let mut info = run_info(opts.command, args, &target, &producer, &initial, content.topics().join(","));
        let thresholds: Vec<Threshold> = opts.thresholds.iter().chain(&target.thresholds).cloned().collect();
        info.thresholds = thresholds.iter().map(|t| t.expr.clone()).collect();
        let (settings_tx, settings_rx) = watch::channel(initial.clone());
        let (stop_tx, stop_rx) = watch::channel(false);
        Ok(Run {
            target,
            producer,
            route,
            warnings,
            initial,
            info,
            thresholds,
            status: Arc::new(LoadStatus::default()),
            producer_started,
            topic,
            settings_tx: Some(settings_tx),
            settings_rx,
            stop_tx: Arc::new(stop_tx),
            stop_rx,
            args: args.clone(),
            content: Some(content),
            _chaos_task: chaos_task,
            recorder: None,
            driver: None,
            cluster_task: None,
        })
    }

    /// The control of the load settings (the console's rate, pause, in-flight keys); taken
    /// once: a run without it keeps its settings.
    pub fn settings(&mut self) -> Option<watch::Sender<LoadSettings>> {
        self.settings_tx.take()
    }

    /// Stops the load driver (Ctrl-C, --abort-on-fail, quit): no new sends, the ones in flight
    /// end.
    pub fn stopper(&self) -> Arc<watch::Sender<bool>> {
        self.stop_tx.clone()
    }

    /// Completed sends and everything else but attempts, from now on.
    pub fn subscribe(&self) -> EventStream {
        self.producer.subscribe_outcomes()
    }

    /// Starts the recorder (--record, from `origin`, the run's start as its readers count it)
    /// and the load driver; each completed send also goes to `out`, if given.
    pub fn start_sending(
        &mut self,
        origin: Instant,
        started_wall: chrono::DateTime<chrono::Local>,
        stop: StopAfter,
        out: Option<mpsc::Sender<Arc<SendOutcome>>>,
    ) -> Result<(), StartError> {
        let Some(content) = self.content.take() else { return Ok(()) };
        self.recorder = start_recorder(
            &self.args,
            self.info.clone(),
            origin,
            started_wall,
            &self.target,
            &self.producer,
            self.settings_rx.clone(),
            self.route.as_deref(),
        )?;
        self.driver = Some(tokio::spawn(load::run(
            self.producer.clone(),
            content,
            self.settings_rx.clone(),
            stop,
            self.stop_rx.clone(),
            out,
            self.status.clone(),
        )));
        Ok(())
    }

    /// Why `--record` could not be written, told as soon as that happens (None: no recording).
    pub fn recording_failed(&self) -> Option<watch::Receiver<Option<String>>> {
        self.recorder.as_ref().map(|r| r.failed())
    }

    /// Waits for the load driver to end by itself (its count or duration, or a stop).
    pub async fn sent(&mut self) {
        if let Some(d) = self.driver.take() {
            let _ = d.await;
        }
    }

    /// Keeps the producer up until the brokers have checked back `unknown` transactions (or
    /// --transaction-wait-ms passed): it must answer them.
    pub async fn answer_check_backs(&self, unknown: u64) {
        if unknown == 0 {
            return;
        }
        let wait = Duration::from_millis(self.args.transaction_wait_ms.unwrap_or(15_000));
        let until = Instant::now() + wait;
        while self.producer.counters().check_backs < unknown && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Ends the run: the load stopped, UNREGISTER_CLIENT (within the API timeout, as
    /// `DefaultMQProducer.shutdown()`), the recording closed, the demo cluster stopped.
    /// Returns where the recording went, or why it is incomplete.
    pub async fn finish(mut self, end: RunEnd) -> Option<Result<std::path::PathBuf, String>> {
        let _ = self.stop_tx.send(true);
        if let Some(d) = self.driver.take() {
            d.abort();
        }
        if let Some(t) = self.cluster_task.take() {
            t.abort();
        }
        self.producer.shutdown().await;
        let recorded = match self.recorder.take() {
            Some(r) => {
                let end = crate::record::writer::EndInfo {
                    elapsed: end.elapsed,
                    not_started: self.status.not_started(),
                    name_server_lookups: self.producer.name_server_lookups(),
                    aborted_by: end.aborted_by,
                };
                Some(r.finish(end).await)
            }
            None => None,
        };
        if let Some(c) = &self.target.demo {
            c.shutdown();
        }
        recorded
    }

    /// The name server's view of the cluster (for the console's cluster view), refreshed every
    /// 5 s by a task of the run's runtime.
    pub fn watch_cluster(&mut self) -> Arc<std::sync::Mutex<Option<(Instant, crate::admin::ClusterView)>>> {
        let view: Arc<std::sync::Mutex<Option<(Instant, crate::admin::ClusterView)>>> = Default::default();
        let (v, namesrvs, topic) = (view.clone(), self.target.namesrvs.clone(), self.topic.clone());
        let tls = self.target.tls.clone();
        self.cluster_task = Some(tokio::spawn(async move {
            let pool = crate::remoting::ConnectionPool::new().with_tls(tls);
            loop {
                let fetched = crate::admin::fetch_view(&pool, &namesrvs, &topic).await;
                *v.lock().unwrap() = Some((Instant::now(), fetched));
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }));
        view
    }
}
