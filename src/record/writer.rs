//! `--record FILE`: a task reads the producer's event stream (as any view does: the producer
//! never waits for it) and hands lines to a thread that writes them, zstd-compressed for a
//! `.zst` name. Chunks go out every 100 ms, so a run cut short leaves all but its last moments.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::schema::RunInfo;
use super::schema::{rel_ns, Line, RecFault, RecSend};
use super::RECORDING_VERSION;
use crate::producer::events::{Event, EventStream};
use crate::producer::load::LoadSettings;

/// Reads the faults injected now, per broker, as the console shows them (the demo cluster's or
/// the chaos proxies').
pub type Injected = Box<dyn Fn() -> Vec<(String, String)> + Send + Sync>;

/// What the run knows only at its end.
#[derive(Debug, Clone, Default)]
pub struct EndInfo {
    pub elapsed: Duration,
    pub not_started: u64,
    pub name_server_lookups: u64,
    pub aborted_by: Option<String>,
}

/// A recording being written.
pub struct Recorder {
    end: Option<oneshot::Sender<EndInfo>>,
    task: tokio::task::JoinHandle<()>,
    thread: std::thread::JoinHandle<Result<(), String>>,
    path: PathBuf,
    failed: watch::Receiver<Option<String>>,
}

/// Where the run's lines come from.
pub struct Sources {
    pub events: EventStream,
    pub settings: Option<watch::Receiver<LoadSettings>>,
    pub injected: Option<Injected>,
    /// The routes known at the start (the recorder subscribes after the first lookup).
    pub routes: Vec<(String, Vec<String>, usize)>,
}

/// The file, plain or zstd; [`Sink::close`] reports every error up to the last byte on disk.
enum Sink {
    Plain(std::io::BufWriter<std::fs::File>),
    Zstd(zstd::stream::write::Encoder<'static, std::io::BufWriter<std::fs::File>>),
}

impl Sink {
    fn open(path: &Path) -> Result<Sink, String> {
        let file = std::fs::File::create(path).map_err(|e| format!("--record {}: {e}", path.display()))?;
        let w = std::io::BufWriter::with_capacity(1 << 16, file);
        if path.extension().is_some_and(|e| e == "zst") {
            let enc =
                zstd::stream::write::Encoder::new(w, 3).map_err(|e| format!("--record {}: {e}", path.display()))?;
            Ok(Sink::Zstd(enc))
        } else {
            Ok(Sink::Plain(w))
        }
    }

    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.write_all(b),
            Sink::Zstd(w) => w.write_all(b),
        }
    }

    /// Ends the zstd frame, flushes, and syncs the data (a full disk can show only there).
    fn close(self) -> std::io::Result<()> {
        let w = match self {
            Sink::Plain(w) => w,
            Sink::Zstd(enc) => enc.finish()?,
        };
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_data()
    }
}

fn settings_line(t_ns: i64, s: &LoadSettings) -> Line {
    Line::Settings {
        t_ns,
        rate: s.rate,
        concurrency: s.concurrency,
        paused: s.paused,
        model: if s.scheduled() { s.model.name() } else { "closed" }.to_string(),
        shape: s.shape.as_ref().map(|s| s.describe()),
    }
}

impl Recorder {
    /// Creates the file (an error names it) and starts recording; `origin` is the run's start.
    pub fn start(
        path: &Path,
        run: RunInfo,
        origin: Instant,
        started_wall: chrono::DateTime<chrono::Local>,
        mut src: Sources,
    ) -> Result<Recorder, String> {
        let mut w = Sink::open(path)?;
        let (chunks_tx, mut chunks) = mpsc::channel::<Vec<u8>>(64);
        let shown = path.display().to_string();
        let (failed_tx, failed) = watch::channel(None::<String>);
        let thread = std::thread::Builder::new()
            .name("mqtui-recorder".into())
            .spawn(move || {
                let fail = |e: std::io::Error| {
                    let why = crate::output::describe(&format!("the recording {shown}"), &e);
                    // Told at once: the run stops, it does not go on unrecorded.
                    failed_tx.send_replace(Some(why.clone()));
                    why
                };
                while let Some(c) = chunks.blocking_recv() {
                    w.write_all(&c).map_err(fail)?;
                }
                w.close().map_err(fail)
            })
            .map_err(|e| format!("cannot start the recorder: {e}"))?;
        let (end_tx, mut end_rx) = oneshot::channel::<EndInfo>();
        let task = tokio::spawn(async move {
            let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
            let push = |buf: &mut Vec<u8>, line: &Line| {
                let _ = serde_json::to_writer(&mut *buf, line);
                buf.push(b'\n');
            };
            let t = |at: Instant| rel_ns(origin, at);
            push(
                &mut buf,
                &Line::Run {
                    v: RECORDING_VERSION,
                    mqtui: env!("CARGO_PKG_VERSION").to_string(),
                    started_ms: started_wall.timestamp_millis(),
                    run: Box::new(run),
                },
            );
            for (topic, brokers, queues) in std::mem::take(&mut src.routes) {
                push(&mut buf, &Line::Route { t_ns: t(Instant::now()).min(0), topic, brokers, queues });
            }
            if let Some(s) = &mut src.settings {
                let line = settings_line(0, &s.borrow_and_update());
                push(&mut buf, &line);
            }
            let mut injected: std::collections::BTreeMap<String, String> = Default::default();
            let mut poll_injected = |buf: &mut Vec<u8>, now: Instant| {
                let Some(read) = &src.injected else { return };
                for (broker, fault) in read() {
                    if injected.get(&broker) != Some(&fault) {
                        push(buf, &Line::Injection { t_ns: t(now), broker: broker.clone(), fault: fault.clone() });
                        injected.insert(broker, fault);
                    }
                }
            };
            poll_injected(&mut buf, Instant::now());
            let event_line = |e: Event, now: Instant| -> Option<Line> {
                Some(match e {
                    Event::Completed(o) => Line::Send(Box::new(RecSend::new(&o, origin))),
                    Event::Fault(f) => Line::Fault(RecFault::new(&f, origin)),
                    Event::Route { topic, brokers, queues } => Line::Route {
                        t_ns: t(now),
                        topic: topic.to_string(),
                        brokers: brokers.iter().map(|b| b.to_string()).collect(),
                        queues,
                    },
                    Event::Warning(text) => Line::Warning { t_ns: t(now), text },
                    Event::Lagged(missed) => Line::Lagged { t_ns: t(now), missed },
                    Event::Attempt { .. } => return None,
                })
            };
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut settings = src.settings.take();
            let end = loop {
                tokio::select! {
                    e = src.events.recv() => match e {
                        Some(e) => {
                            if let Some(line) = event_line(e, Instant::now()) {
                                push(&mut buf, &line);
                            }
                        }
                        None => break (&mut end_rx).await.unwrap_or_default(),
                    },
                    _ = async { settings.as_mut().expect("guarded").changed().await }, if settings.is_some() => {
                        let s = settings.as_mut().expect("guarded");
                        let line = settings_line(t(Instant::now()), &s.borrow_and_update());
                        push(&mut buf, &line);
                    }
                    _ = tick.tick() => {
                        poll_injected(&mut buf, Instant::now());
                        if !buf.is_empty() && chunks_tx.send(std::mem::take(&mut buf)).await.is_err() {
                            return;
                        }
                    }
                    end = &mut end_rx => break end.unwrap_or_default(),
                }
            };
            // What came before the end and is still queued.
            while let Some(e) = src.events.try_recv() {
                if let Some(line) = event_line(e, Instant::now()) {
                    push(&mut buf, &line);
                }
            }
            poll_injected(&mut buf, Instant::now());
            push(
                &mut buf,
                &Line::End {
                    t_ns: t(Instant::now()),
                    elapsed_ns: end.elapsed.as_nanos() as u64,
                    not_started: end.not_started,
                    name_server_lookups: end.name_server_lookups,
                    aborted_by: end.aborted_by,
                },
            );
            let _ = chunks_tx.send(buf).await;
        });
        Ok(Recorder { end: Some(end_tx), task, thread, path: path.to_path_buf(), failed })
    }

    /// Why the recording could not be written, as soon as that happens (None while it can).
    pub fn failed(&self) -> watch::Receiver<Option<String>> {
        self.failed.clone()
    }

    /// Writes the last line and closes the file; an error says why the recording is incomplete.
    pub async fn finish(mut self, end: EndInfo) -> Result<PathBuf, String> {
        if let Some(tx) = self.end.take() {
            let _ = tx.send(end);
        }
        let _ = (&mut self.task).await;
        let thread = self.thread;
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|_| "the recorder's thread panicked".to_string())??;
        Ok(self.path)
    }
}
