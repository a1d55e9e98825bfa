//! The console: a ratatui dashboard that drives the producer and shows its events as they
//! happen. Input becomes actions (keymap), actions and producer events change the state (app),
//! panels draw it (one file each). The loop drains events as they come and redraws at most
//! `fps` times a second, and only when something on screen changed.
//!
//! ```text
//! ┌ header: target, topic, fault strategy · rate, in flight, totals · PAUSED / FROZEN ┐
//! ┌ Brokers: state + countdown, attempts, ok, fail, retries, latency window, sparkline ┐
//! ┌ Isolation windows, last 60 s (when the terminal is tall enough)                    ┐
//! ┌ Sends, newest first                      ┐┌ p99 latency by broker (when wide)      ┐
//!   footer: key hints from the key map
//! ```

pub mod app;
pub mod brokers;
pub mod chart;
pub mod compose;
pub mod fmt;
pub mod footer;
pub mod header;
pub mod help;
pub mod histogram;
pub mod keymap;
pub mod log;
mod player;
pub mod popup;
pub mod replay;
pub mod theme;
pub mod timeline;

use std::time::Duration;

use futures::StreamExt;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use tokio::time::Instant;

use app::{App, Controls, Overlay, RunContext};
use theme::Theme;

use crate::cli::ConsoleArgs;
use crate::engine::run::{Run, RunEnd, RunOptions};
use crate::engine::StartError;
use crate::producer::load::StopAfter;
use crate::producer::EventStream;

/// Below this the layout cannot show the brokers and the sends; a message says so instead.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;
/// Wide enough for the latency chart beside the sends.
const CHART_MIN_WIDTH: u16 = 120;
/// Tall enough for the isolation timeline.
const TIMELINE_MIN_HEIGHT: u16 = 30;

/// Draws the whole console.
pub fn render(f: &mut Frame, app: &App) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = vec![
            Line::from(Span::styled("terminal too small", app.theme.warn())),
            Line::raw(format!("{}×{}: mqtui needs at least {MIN_WIDTH}×{MIN_HEIGHT}", area.width, area.height)),
            Line::raw("q quits"),
        ];
        let h = 3.min(area.height);
        let r = Rect::new(area.x, area.y + (area.height - h) / 2, area.width, h);
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).alignment(ratatui::layout::Alignment::Center), r);
        return;
    }
    let n = app.view().brokers.len().max(1) as u16;
    let brokers_h = (n + 3).min(area.height.saturating_sub(8).max(4));
    let timeline_h = if area.height >= TIMELINE_MIN_HEIGHT { (n + 2).min(14) } else { 0 };
    let banner_h = u16::from(header::banner_text(app).is_some());
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(2 + banner_h),
            Constraint::Length(brokers_h),
            Constraint::Length(timeline_h),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .split(area);
    header::render(f, app, Rect { height: 2, ..rows[0] });
    if banner_h > 0 {
        header::render_banner(f, app, Rect { y: rows[0].y + 2, height: 1, ..rows[0] });
    }
    brokers::render(f, app, rows[1]);
    if timeline_h > 0 {
        timeline::render(f, app, rows[2]);
    }
    if area.width >= CHART_MIN_WIDTH {
        let cols = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Percentage(62), Constraint::Percentage(38)])
            .split(rows[3]);
        log::render(f, app, cols[0]);
        chart::render(f, app, cols[1]);
    } else {
        log::render(f, app, rows[3]);
    }
    footer::render(f, app, rows[4]);
    match &app.ui.overlay {
        Overlay::None => {}
        Overlay::Help => help::render(f, app, area),
        Overlay::Send(id) => popup::send(f, app, area, *id),
        Overlay::Broker(name) => popup::broker(f, app, area, name),
        Overlay::Compose(form) => popup::compose(f, app, area, form),
        Overlay::Composed => popup::composed(f, app, area),
        Overlay::Cluster => popup::cluster(f, app, area),
        Overlay::Histogram => histogram::render(f, app, area),
    }
}

/// Handles one terminal event.
pub fn handle_input(app: &mut App, ev: crossterm::event::Event) {
    use crossterm::event::{Event as TermEvent, KeyEventKind};
    match ev {
        // Escape and a key typed right after it (or sent together over a slow link) reach us as one
        // Alt-key sequence. No key of ours uses Alt: it is those two keys.
        TermEvent::Key(key)
            if key.kind != KeyEventKind::Release
                && key.modifiers == crossterm::event::KeyModifiers::ALT
                && matches!(key.code, crossterm::event::KeyCode::Char(_)) =>
        {
            use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
            handle_input(app, TermEvent::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
            handle_input(app, TermEvent::Key(KeyEvent::new(key.code, KeyModifiers::NONE)));
        }
        TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
            if app.type_key(&key) {
                return;
            }
            // While a popup is open, only closing keys and quit act.
            if let Some(action) = keymap::action_for(&key) {
                if app.ui.overlay != Overlay::None
                    && !matches!(
                        action,
                        keymap::Action::Close
                            | keymap::Action::Quit
                            | keymap::Action::Help
                            | keymap::Action::Open
                            | keymap::Action::Histogram
                    )
                {
                    return;
                }
                if action == keymap::Action::Open && app.ui.overlay != Overlay::None {
                    app.update(keymap::Action::Close);
                    return;
                }
                app.update(action);
            }
        }
        TermEvent::Resize(..) => app.dirty = true,
        _ => {}
    }
}

/// Runs the console until the operator quits; the terminal is restored on every way out
/// (quit, Ctrl-C, SIGTERM, errors, panics).
pub async fn run(args: ConsoleArgs) -> Result<u8, StartError> {
    need_terminal("the console needs a terminal: use mqtui produce")?;
    let mut theme = Theme::load(&args.theme).map_err(StartError::config)?;
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        theme = theme.monochrome();
    }
    // The producer (and the demo cluster) get a thread of their own: the hot path never shares a
    // thread with drawing, and a single-threaded runtime has no cross-thread wake-ups.
    let engine = Engine::start().map_err(|e| StartError::start(format!("cannot start the producer thread: {e}")))?;
    yield_to_the_producer();
    let (wall_base, clock_base) = (chrono::Local::now(), Instant::now());
    let pargs = args.producer.clone();
    // The console opens whatever the route lookup says (it shows why among its warnings).
    let opts = RunOptions {
        command: "console",
        default_scenario: "demo",
        default_rate: Some(200.0),
        strict: false,
        thresholds: args.thresholds.clone(),
    };
    let mut run = engine.run(async move { Run::start(&pargs, opts).await }).await??;
    let producer = run.producer.clone();
    let mut events = run.subscribe();
    let ctx = RunContext {
        target: run.target.description.clone(),
        topic: run.info.topic.clone(),
        brokers: args.producer.brokers as usize,
        attempt_timeout: args.producer.attempt_timeout_ms.map(Duration::from_millis),
        java: producer.config().java,
        wall_base,
        clock_base,
    };
    let mut app = App::new(ctx, theme, run.initial.clone(), producer.fault_table(), producer.fault_avoidance());
    app.thresholds = run.thresholds.clone();
    // The route first, so the brokers show before the first send completes.
    for b in run.route.iter().flat_map(|r| r.brokers.iter()) {
        app.live.broker(b);
    }
    for w in &run.warnings {
        app.live.warnings.push_back((Instant::now(), w.clone()));
    }
    let settings = run.settings().expect("the settings' control is taken once");
    // The recorder (--record, from the console's clock base) and the load driver, on the
    // producer's thread; the cluster view's data too, refreshed every 5 s.
    let cluster_view = {
        let _in = engine.handle.enter();
        run.start_sending(clock_base, wall_base, StopAfter::default(), None)?;
        run.watch_cluster()
    };
    app.controls = Some(Controls {
        cluster_view,
        producer,
        cluster: run.target.demo.clone(),
        chaos: run.target.chaos.clone(),
        settings,
        load: run.status.clone(),
    });
    app.refresh_injected();

    // Spent events and evicted sends go back to the producer's thread to be dropped: the memory
    // was allocated there, and freeing it there is cheap; freeing it here costs the UI thread
    // (and so the producer, on a 2-core machine) several times as much.
    let (reap_tx, mut reap_rx) = tokio::sync::mpsc::channel::<Reap>(64);
    engine.handle.spawn(async move { while reap_rx.recv().await.is_some() {} });
    // Test hook (tests/tmux_e2e.rs): a task on the producer's thread panics, as a bug there would.
    if std::env::var("MQTUI_TEST_PANIC_THREAD").as_deref() == Ok("producer") {
        let ms = std::env::var("MQTUI_TEST_PANIC_AFTER_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
        engine.handle.spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            panic!("MQTUI_TEST_PANIC_THREAD: a panic on purpose on the producer's thread");
        });
    }
    let started = Instant::now();
    let mut terminal = ratatui::try_init().map_err(|e| StartError::config(format!("cannot open the console: {e}")))?;
    install_panic_guard();
    let ends = Ends { record_failed: run.recording_failed(), stop: run.stopper() };
    let result = event_loop(&mut terminal, &mut app, &mut events, args.fps, &reap_tx, ends).await;
    CONSOLE_LIVE.store(false, std::sync::atomic::Ordering::SeqCst);
    ratatui::restore();
    if let Some(report) = OTHER_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = run.stopper().send(true);
        return Err(StartError {
            code: 101,
            message: format!("internal error, the console stopped: {report} (also in the log)"),
        });
    }
    // What the run did, left on the terminal after the screen is gone (written once, checked).
    let mut lines: Vec<String> = Vec::new();
    if let Some(c) = &app.controls {
        let n = c.producer.counters();
        let secs = started.elapsed().as_secs_f64();
        let flying =
            if n.in_flight > 0 { format!(" · {} in flight at quit", fmt::count(n.in_flight)) } else { String::new() };
        lines.push(format!(
            "mqtui: sent {} · ok {} · failed {} · retried {}{flying} · {:.1} s · {:.0} msg/s\n",
            fmt::count(n.sent),
            fmt::count(n.ok),
            fmt::count(n.failed),
            fmt::count(n.attempts.saturating_sub(n.sent)),
            secs,
            n.sent as f64 / secs.max(0.001)
        ));
    }
    // The thresholds, measured on the live totals (not a frozen copy) with what completed since
    // the last frame taken in; exit 4 when one fails.
    app.frozen = None;
    if !app.thresholds.is_empty() {
        let rest: Vec<_> = std::iter::from_fn(|| events.try_recv()).take(1 << 20).collect();
        app.apply_batch(&rest);
        app.tick(Instant::now());
    }
    let verdicts = app.verdicts();
    if !verdicts.is_empty() {
        let failed = verdicts.iter().filter(|v| !v.ok).count();
        lines.push(format!("mqtui: thresholds {} passed, {failed} failed\n", verdicts.len() - failed));
        for v in &verdicts {
            lines.push(format!("  {v}\n"));
        }
    }
    let mut code = if verdicts.iter().any(|v| !v.ok) { crate::engine::EXIT_THRESHOLD } else { crate::engine::EXIT_OK };
    // The end: UNREGISTER_CLIENT, the recording closed, the demo cluster stopped.
    let end = RunEnd { elapsed: clock_base.elapsed(), aborted_by: None };
    match engine.run(async move { run.finish(end).await }).await {
        Ok(Some(Ok(path))) => lines.push(format!("mqtui: recorded to {} (mqtui report {0})", path.display())),
        Ok(Some(Err(e))) => {
            crate::errln!("mqtui: error: the recording is incomplete: {e}");
            code = crate::exit::EXIT_OUTPUT;
        }
        Ok(None) => {}
        Err(e) => {
            crate::errln!("mqtui: error: the recording is incomplete: {}", e.message);
            code = crate::exit::EXIT_OUTPUT;
        }
    }
    if let Err(e) = crate::output::write_stdout(lines.concat().as_bytes()) {
        crate::errln!("mqtui: {e}");
        code = crate::exit::EXIT_OUTPUT;
    }
    drop(app);
    drop(engine);
    result.map_err(|e| StartError::start(format!("terminal error: {e}")))?;
    Ok(code)
}

/// `Ok` when standard input and output are a terminal; else the one-line error `why` (exit 2).
pub(crate) fn need_terminal(why: &str) -> Result<(), StartError> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        Ok(())
    } else {
        Err(StartError::config(why))
    }
}

/// Lowers this (the UI's) thread's scheduling priority to the lowest, so that when the cores are busy the
/// producer's thread — started before, at normal priority — gets them first: the console never
/// slows the producer; at extreme rates the view lags instead (and says so in the header).
fn yield_to_the_producer() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on this thread's id only changes its nice value; failure is harmless.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, tid, 19) != 0 {
            tracing::debug!("could not lower the UI thread's priority");
        }
    }
}

/// A single-threaded runtime on its own thread for the producer, the load driver and the demo
/// cluster; it stops when dropped.
struct Engine {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Engine {
    fn start() -> std::io::Result<Engine> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("mqtui-producer".into()).spawn(move || {
            rt.block_on(async {
                let _ = stopped.await;
            });
            rt.shutdown_timeout(Duration::from_millis(500));
        })?;
        Ok(Engine { handle, stop: Some(stop), thread: Some(thread) })
    }

    /// Runs `fut` on the producer thread and waits for it.
    async fn run<T: Send + 'static>(
        &self,
        fut: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Result<T, StartError> {
        self.handle.spawn(fut).await.map_err(|e| StartError::start(format!("producer thread failed: {e}")))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the UI is done with, sent to be dropped on the producer's thread.
struct Reap {
    _events: Vec<crate::producer::Event>,
    _evicted: Vec<std::sync::Arc<crate::producer::SendOutcome>>,
}

/// Set while the console draws: a panic on another thread then must not print on the screen.
static CONSOLE_LIVE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The first panic on another thread than the UI's while the console was drawing.
static OTHER_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
static OTHER_PANICKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A panic on the UI thread goes to the hook installed before (ratatui's: restore the terminal,
/// then mqtui's one line, the report in the log). A panic on another thread (a producer task, the demo cluster) —
/// which tokio would survive — must neither print over the screen nor leave the terminal
/// restored under a console that goes on drawing: it is logged, kept, and the console ends
/// (restoring the terminal) and reports it, exit code 101.
pub(crate) fn install_panic_guard() {
    use std::sync::atomic::Ordering;
    let ui = std::thread::current().id();
    let prev = std::panic::take_hook();
    CONSOLE_LIVE.store(true, Ordering::SeqCst);
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == ui || !CONSOLE_LIVE.load(Ordering::SeqCst) {
            prev(info);
            return;
        }
        let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
        let report = format!("thread '{thread}' {info}");
        tracing::error!("panic: {report}");
        let mut slot = OTHER_PANIC.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(report);
        }
        OTHER_PANICKED.store(true, Ordering::SeqCst);
    }));
}

/// How often a busy console takes the producer's events (it redraws at most `--fps` times a second).
const DRAIN_EVERY: Duration = Duration::from_millis(5);
/// Events in one drain from which the next comes after `DRAIN_EVERY` rather than a frame.
const HEAVY_DRAIN: usize = 64;

/// How a run can end other than by the operator: its recording cannot be written (the run stops
/// sending, the console says why and stays up; quitting exits 5).
struct Ends {
    record_failed: Option<tokio::sync::watch::Receiver<Option<String>>>,
    stop: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    events: &mut EventStream,
    fps: u32,
    reap: &tokio::sync::mpsc::Sender<Reap>,
    mut ends: Ends,
) -> std::io::Result<()> {
    let mut input = crossterm::event::EventStream::new();
    let frame = Duration::from_millis(1000 / u64::from(fps.clamp(1, 120)));
    // Events are taken several times a frame: a send's outcome then lives a few ms (a few
    // hundred KB at 200k sends/s, in cache) instead of a whole frame (megabytes, out of cache),
    // which measurably slows the producer that allocates and frees them.
    let drain_every = DRAIN_EVERY.min(frame);
    let drains_per_frame = (frame.as_micros() / drain_every.as_micros()).max(1) as usize;
    let budget = (crate::ui::app::SAMPLE_PER_FRAME / drains_per_frame).max(1);
    // SIGTERM, and SIGHUP (the terminal or the SSH session went away): quit as `q` does.
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut next_draw = Instant::now();
    let mut next_drain = next_draw;
    // Test hook (tests/tmux_e2e.rs): panic this long after start, as a bug in a panel would.
    let panic_at = std::env::var("MQTUI_TEST_PANIC_AFTER_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(|ms| next_draw + Duration::from_millis(ms));
    // Busy: events came in the last drain; then they are taken every `drain_every` (oha drains
    // once a frame) instead of waking this thread for each one. Idle: wait for the next one, to
    // show it at once.
    let mut busy = false;
    let mut batch = Vec::new();
    loop {
        // Redraw soon when something changed; otherwise wake once a second for the clock.
        let wake = if busy {
            next_drain.min(next_draw)
        } else if app.dirty {
            next_draw
        } else {
            next_draw.max(Instant::now() + Duration::from_secs(1))
        };
        #[cfg(unix)]
        let sigterm = async {
            tokio::select! { _ = term.recv() => {}, _ = hup.recv() => {} }
        };
        #[cfg(not(unix))]
        let sigterm = std::future::pending::<()>();
        tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(ev)) => handle_input(app, ev),
                Some(Err(e)) => return Err(e),
                None => app.quit = true,
            },
            e = events.recv(), if !busy => {
                if let Some(e) = e {
                    app.apply(&e);
                    busy = true;
                }
            }
            _ = tokio::time::sleep_until(wake) => {}
            _ = sigterm => app.quit = true,
            r = async { ends.record_failed.as_mut().expect("guarded").changed().await }, if ends.record_failed.is_some() => {
                let why = ends.record_failed.as_mut().and_then(|f| f.borrow_and_update().clone());
                if r.is_err() || why.is_some() {
                    ends.record_failed = None;
                }
                if let Some(why) = why {
                    let _ = ends.stop.send(true);
                    app.live.warnings.push_back((Instant::now(), format!("sending stopped: {why}")));
                    app.dirty = true;
                }
            }
        }
        if app.quit || OTHER_PANICKED.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        let now = Instant::now();
        if (busy && now >= next_drain) || now >= next_draw {
            batch.clear();
            while let Some(e) = events.try_recv() {
                batch.push(e);
                if batch.len() >= 1 << 16 {
                    break;
                }
            }
            busy = !batch.is_empty();
            // Only a heavy stream is taken every few ms; a light one once a frame (fewer wake-ups).
            let heavy = batch.len() >= HEAVY_DRAIN;
            app.apply_batch_sampled(&batch, budget);
            if busy || !app.live.evicted.is_empty() {
                let spent =
                    Reap { _events: std::mem::take(&mut batch), _evicted: std::mem::take(&mut app.live.evicted) };
                // A full channel: drop here instead, never wait.
                let _ = reap.try_send(spent);
            }
            next_drain = now + if heavy { drain_every } else { frame };
        }
        if now >= next_draw {
            if panic_at.is_some_and(|t| now >= t) && std::env::var_os("MQTUI_TEST_PANIC_THREAD").is_none() {
                panic!("MQTUI_TEST_PANIC_AFTER_MS: a panic on purpose, to test that the terminal is restored");
            }
            app.tick(now);
            if app.dirty {
                terminal.draw(|f| render(f, app))?;
                app.dirty = false;
            }
            next_draw = now + frame;
        }
    }
}
