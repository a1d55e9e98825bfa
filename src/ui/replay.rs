//! `mqtui replay FILE`: the console on a recording. A [`Player`] feeds the recorded events to a
//! fresh `App` on a clock of its own — the same events at the same moments as live, so every
//! panel shows what it showed then — with pause, speed (×1, ×10, ×100) and seek (a seek back
//! replays from the start into a new App, as the live one was built).

use std::time::Duration;

use tokio::time::Instant;

pub use super::player::Player;
use super::theme::Theme;

/// Keys of the live console that act on the producer or the cluster: nothing to act on in a
/// replay (said so, not silently ignored).
pub fn inert(action: super::keymap::Action) -> bool {
    use super::keymap::Action::*;
    matches!(
        action,
        Pause
            | RateUp
            | RateDown
            | ConcurrencyUp
            | ConcurrencyDown
            | Compose
            | ToggleAvoidance
            | ToggleTable
            | FaultLatency
            | FaultError
            | FaultHang
            | FaultDown
            | FaultGoAway
            | FaultClear
    )
}

/// Runs the console on the recording `args.file` until the operator quits.
pub async fn run(args: crate::cli::ReplayArgs) -> Result<u8, crate::engine::StartError> {
    use crate::engine::StartError;
    use futures::StreamExt;
    super::need_terminal("replay needs a terminal: use mqtui report")?;
    let mut theme = Theme::load(&args.theme).map_err(StartError::config)?;
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        theme = theme.monochrome();
    }
    // Read as it plays: an index first (bounded), then the lines as they are due.
    let mut player = Player::open(&args.file, Instant::now(), theme)
        .map_err(|e| StartError::start(format!("cannot read the recording: {e}")))?;
    player.speed = args.speed;
    let mut app = player.fresh();
    player.seek(&mut app, Duration::ZERO);
    let problems = player.problems.first().map(|p| format!(" · warning: {p}")).unwrap_or_default();
    app.say(format!("replay: p play/pause · 1 2 3 speed ×1 ×10 ×100 · , . seek ∓10 s · 0 start{problems}"));
    let frame = Duration::from_millis(1000 / u64::from(args.fps.clamp(1, 120)));
    let mut input = crossterm::event::EventStream::new();
    let mut terminal = ratatui::try_init().map_err(|e| StartError::config(format!("cannot open the console: {e}")))?;
    super::install_panic_guard();
    let mut last = Instant::now();
    let result: std::io::Result<()> = async {
        loop {
            tokio::select! {
                ev = input.next() => match ev {
                    Some(Ok(crossterm::event::Event::Key(key))) if key.kind != crossterm::event::KeyEventKind::Release => {
                        if !player.key(&mut app, &key) {
                            match super::keymap::action_for(&key) {
                                Some(a) if inert(a) && !app.ui.filter_editing => {
                                    app.say("a replay: the producer and the cluster are the recording's, nothing to change")
                                }
                                _ => super::handle_input(&mut app, crossterm::event::Event::Key(key)),
                            }
                        }
                    }
                    Some(Ok(ev)) => super::handle_input(&mut app, ev),
                    Some(Err(e)) => return Err(e),
                    None => app.quit = true,
                },
                _ = tokio::time::sleep(frame) => {}
            }
            if app.quit {
                return Ok(());
            }
            let now = Instant::now();
            player.advance(&mut app, now - last);
            last = now;
            if app.dirty {
                terminal.draw(|f| super::render(f, &app))?;
                app.dirty = false;
            }
        }
    }
    .await;
    ratatui::restore();
    result.map_err(|e| StartError::start(format!("terminal: {e}")))?;
    Ok(0)
}
