//! `mqtui produce`: send headless against the demo cluster or a real one, and report.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::cli::{Output, ProduceArgs};
use crate::producer::load::StopAfter;
use crate::report::{self, Summary};
use crate::stats::RunStats;

// The run comes from the engine (the console starts its run there too); this is one view of it.
use crate::engine::run::{Run, RunEnd, RunOptions};
pub use crate::engine::{StartError, EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_START, EXIT_THRESHOLD};

/// Writes chunks to stdout on a thread of its own. The first write that fails ends it, and says
/// why ([`StdoutWriter::error`]): a reader that went away (`| head`), a full disk, a closed
/// descriptor.
struct StdoutWriter {
    tx: Option<mpsc::Sender<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    error: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    failed: watch::Receiver<bool>,
}

impl StdoutWriter {
    fn start() -> Self {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(16);
        let error: std::sync::Arc<std::sync::Mutex<Option<String>>> = Default::default();
        let (failed_tx, failed) = watch::channel(false);
        let err = error.clone();
        let thread = std::thread::spawn(move || {
            let mut out = crate::output::stdout();
            while let Some(chunk) = rx.blocking_recv() {
                if let Err(e) = out.write_all(&chunk) {
                    *err.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(crate::output::describe("standard output", &e));
                    failed_tx.send_replace(true);
                    // The rest is dropped; the sender sees the channel close.
                    return;
                }
            }
        });
        StdoutWriter { tx: Some(tx), thread: Some(thread), error, failed }
    }

    /// Queues a chunk; false when stdout is gone.
    async fn send(&self, chunk: Vec<u8>) -> bool {
        if chunk.is_empty() {
            return self.error().is_none();
        }
        match &self.tx {
            Some(tx) => tx.send(chunk).await.is_ok(),
            None => false,
        }
    }

    /// Why stdout cannot be written, once a write failed.
    fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until everything queued is written; the error if a write failed.
    async fn finish(mut self) -> Option<String> {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        self.error()
    }
}

/// Runs `mqtui produce`; returns the exit code.
pub async fn run(args: ProduceArgs, cancel: watch::Receiver<bool>) -> Result<u8, StartError> {
    let opts = RunOptions {
        command: "produce",
        default_scenario: "healthy",
        default_rate: None,
        strict: true,
        thresholds: args.thresholds.clone(),
    };
    let mut run = Run::start(&args.producer, opts).await?;
    for w in &run.warnings {
        crate::errln!("mqtui: warning: {w}");
    }
    // A run with stages lasts as long as they do, unless told otherwise.
    let staged = run.initial.shape.as_ref().map(|s| s.length()).filter(|d| !d.is_zero());
    let duration = args.duration.map(Duration::from_secs_f64).or(staged.filter(|_| args.count.is_none()));
    let stop = StopAfter { count: args.count.or(if duration.is_none() { Some(1000) } else { None }), duration };
    // Operator warnings (a name server gone, a route kept from cache) go to stderr as they come.
    let mut warnings = run.producer.subscribe_warnings();
    let warn_task = tokio::spawn(async move {
        while let Ok(w) = warnings.recv().await {
            crate::errln!("mqtui: warning: {w}");
        }
    });
    let (tx, mut rx) = mpsc::channel(args.producer.concurrency as usize * 2 + 64);
    if args.start_delay_ms > 0 {
        tokio::time::sleep_until(run.producer_started + Duration::from_millis(args.start_delay_ms)).await;
    }
    let started = Instant::now();
    let thresholds = run.thresholds.clone();
    // Stops the driver: the caller's cancel (Ctrl-C), or --abort-on-fail.
    let stop_tx = run.stopper();
    {
        let (mut cancel, stop_tx) = (cancel, stop_tx.clone());
        tokio::spawn(async move {
            while !*cancel.borrow_and_update() {
                if cancel.changed().await.is_err() {
                    return;
                }
            }
            let _ = stop_tx.send(true);
        });
    }
    let mut aborted_by: Option<String> = None;
    run.start_sending(started, chrono::Local::now(), stop, Some(tx))?;

    let mut stats = RunStats::new(started);
    for b in run.route.iter().flat_map(|r| r.brokers.iter()) {
        stats.broker(b);
    }
    // Output is written by a thread of its own: a slow reader of stdout slows new sends (the
    // chunks queue is bounded) but never blocks the runtime, so sends in flight still complete
    // and time out on time.
    let out = StdoutWriter::start();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let progress = args.output == Output::Summary && std::io::stderr().is_terminal();
    let mut last_progress = Instant::now();
    let mut last_end = started;
    // JSON lines reach a reader as they happen: a chunk is written when it is full or 100 ms old.
    let mut flush = tokio::time::interval(Duration::from_millis(100));
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let jsonl = args.output == Output::Jsonl;
    // --every: the interval's own aggregates, and its clock (json output is the summary alone).
    let every = args.every.filter(|_| args.output != Output::Json);
    let mut part = RunStats::new(started);
    let mut ticks = every.map(|d| tokio::time::interval_at(started + d, d));
    // An output that cannot be written (stdout, --record) stops the run: no new sends, the ones
    // in flight end and are counted, nothing more is written; the command then fails (exit 5).
    let mut output_failed: Option<String> = None;
    let mut stdout_failed = Some(out.failed.clone());
    let mut record_failed = run.recording_failed();
    loop {
        let writing = output_failed.is_none();
        let next = tokio::select! {
            o = rx.recv() => o,
            r = async { stdout_failed.as_mut().expect("guarded").changed().await }, if writing && stdout_failed.is_some() => {
                match r {
                    Ok(()) => output_failed = out.error(),
                    Err(_) => stdout_failed = None,
                }
                if output_failed.is_some() {
                    let _ = stop_tx.send(true);
                }
                continue;
            }
            r = async { record_failed.as_mut().expect("guarded").changed().await }, if writing && record_failed.is_some() => {
                let why = record_failed.as_mut().and_then(|f| f.borrow_and_update().clone());
                if r.is_err() || why.is_none() {
                    record_failed = None;
                }
                if let Some(why) = why {
                    output_failed = Some(why);
                    let _ = stop_tx.send(true);
                }
                continue;
            }
            _ = flush.tick(), if jsonl && writing => {
                if !buf.is_empty() && !out.send(std::mem::replace(&mut buf, Vec::with_capacity(1 << 16))).await {
                    output_failed = out.error();
                    let _ = stop_tx.send(true);
                }
                continue;
            }
            _ = async { ticks.as_mut().expect("guarded").tick().await }, if ticks.is_some() && writing => {
                let now = Instant::now();
                let line = crate::report::interval::IntervalLine::new(&part, &stats, now);
                let written = if jsonl {
                    serde_json::to_writer(&mut buf, &line).map_err(std::io::Error::from).and_then(|_| buf.write_all(b"\n"))
                } else {
                    line.write_text(&mut buf)
                };
                if written.is_err() || !out.send(std::mem::replace(&mut buf, Vec::with_capacity(1 << 16))).await {
                    output_failed = Some(out.error().unwrap_or_else(|| "cannot format an interval line".into()));
                    let _ = stop_tx.send(true);
                }
                crate::report::interval::restart(&mut part, &stats, now);
                continue;
            }
        };
        let Some(o) = next else { break };
        stats.record(&o);
        if every.is_some() {
            part.record(&o);
        }
        // When it really ended: from its real start (an open model's latency counts from its
        // slot, which may be long before).
        last_end = last_end.max(o.started + o.service_latency);
        if args.abort_on_fail && aborted_by.is_none() {
            let elapsed = started.elapsed();
            if let Some(t) = thresholds.iter().find(|t| t.broken_for_good() && !t.check(&stats, elapsed).ok) {
                aborted_by = Some(t.expr.clone());
                let _ = stop_tx.send(true);
            }
        }
        if jsonl && output_failed.is_none() {
            let _ = report::write_jsonl(&mut buf, &o);
            if buf.len() >= 1 << 16 && !out.send(std::mem::replace(&mut buf, Vec::with_capacity(1 << 16))).await {
                // stdout gone (`| head`, a full disk): stop sending; what is in flight ends.
                output_failed = out.error();
                let _ = stop_tx.send(true);
            }
        }
        if progress && last_progress.elapsed() >= Duration::from_millis(500) {
            last_progress = Instant::now();
            let secs = started.elapsed().as_secs_f64().max(0.001);
            let line = format!(
                "\r\x1b[2Ksent {}  ok {}  failed {}  retries {}  {:.0} msg/s",
                stats.sent,
                stats.ok,
                stats.failed,
                stats.retries,
                stats.sent as f64 / secs
            );
            let _ = crate::output::stderr().write_all(line.as_bytes());
        }
    }
    run.sent().await;
    // Unknown transactions: stay up (connections, heartbeats) to answer the brokers' check-backs.
    run.answer_check_backs(stats.tx_unknown).await;
    warn_task.abort();
    if progress {
        let _ = crate::output::stderr().write_all(b"\r\x1b[2K");
    }
    let elapsed = last_end.saturating_duration_since(started);
    let producer = run.producer.clone();
    let mut summary = Summary::new(&stats, elapsed, last_end, producer.name_server_lookups(), run.info.clone());
    summary.not_started = run.status.not_started();
    summary.thresholds = thresholds.iter().map(|t| t.check(&stats, elapsed)).collect();
    summary.aborted_by = aborted_by;
    if let Some(t) = &mut summary.transactions {
        t.check_backs = producer.counters().check_backs;
        t.check_answer = producer.config().transaction_check.java_name();
    }
    let stdout_gone = output_failed.is_some() && out.error().is_some();
    if let Some(Err(e)) = run.finish(RunEnd { elapsed, aborted_by: summary.aborted_by.clone() }).await {
        output_failed.get_or_insert(format!("the recording is incomplete: {e}"));
    }
    // The summary goes where it was asked for, unless that is what failed: then to stderr, so
    // the operator still learns how far the run got.
    let written = match args.output {
        Output::Jsonl | Output::Json => {
            serde_json::to_writer(&mut buf, &summary).map_err(std::io::Error::from).and_then(|_| buf.write_all(b"\n"))
        }
        Output::Summary => summary.write_table(&mut buf),
    };
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot format the summary");
    }
    if stdout_gone {
        drop(buf);
    } else {
        out.send(buf).await;
    }
    if let Some(e) = out.finish().await {
        output_failed.get_or_insert(e);
    }
    if let Some(why) = output_failed {
        crate::errln!(
            "mqtui: {why}: stopped after {} sends ({} ok, {} failed, {} not started)",
            summary.sent,
            summary.ok,
            summary.failed,
            summary.not_started
        );
        return Ok(crate::exit::EXIT_OUTPUT);
    }
    Ok(if summary.thresholds.iter().any(|t| !t.ok) {
        EXIT_THRESHOLD
    } else if summary.failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
