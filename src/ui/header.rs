//! Header: target, topic, fault strategy; rate, in flight, totals; PAUSED / FROZEN badges.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::App;
use super::fmt::{count, ms_cell};
use crate::stats::quantile_ms;

pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let v = app.view();
    let ctx = &app.ctx;
    let mut badges: Vec<Span> = Vec::new();
    if app.settings.paused {
        badges.push(Span::styled(" PAUSED ", t.warn()));
    }
    if let Some(r) = &app.replay {
        // A replay says where it is, how fast, and whether it plays.
        let state = if r.paused { "❚❚" } else { "▶" };
        badges.push(Span::styled(
            format!(" {state} REPLAY ×{} {:.1}/{:.1} s ", r.speed, r.at.as_secs_f64(), r.length.as_secs_f64()),
            t.accent(),
        ));
        if app.is_frozen() {
            badges.push(Span::styled(" FROZEN ", t.isolated()));
        }
    } else if app.is_frozen() {
        badges.push(Span::styled(" FROZEN ", t.isolated()));
    } else {
        badges.push(Span::styled(" ● LIVE ", t.ok()));
    }
    badges.push(Span::styled(ctx.wall(v.now).format("%H:%M:%S").to_string(), t.muted()));
    let attempt = match ctx.attempt_timeout {
        None => "attempt timeout off".to_string(),
        Some(d) => format!("attempt timeout {} ms", d.as_millis()),
    };
    let (chaos, target) = match ctx.target.strip_prefix("CHAOS · ") {
        Some(rest) => (true, rest),
        None => (false, ctx.target.as_str()),
    };
    let mut left = vec![Span::styled(" mqtui ", t.accent())];
    if chaos {
        // Loud: faults are being injected in front of a real cluster.
        left.push(Span::styled(" CHAOS ", t.error().add_modifier(ratatui::style::Modifier::REVERSED)));
    }
    let right_w: usize = badges.iter().map(|s| s.content.chars().count()).sum();
    let fixed_w: usize = left.iter().map(|s| s.content.chars().count()).sum();
    // The badges (LIVE / FROZEN / PAUSED, the clock) always stay; the facts on the left get
    // their short forms, then lose their end, when the line is too narrow.
    let room = (area.width as usize).saturating_sub(fixed_w + right_w + 1);
    let avoidance = if app.avoidance { ["ON (Java's default: OFF)", "ON (Java: off)"] } else { ["OFF", "OFF"] };
    let candidates = [
        format!(
            " {target} · topic {} · Java {} · fault table {} · avoidance {} · {attempt}",
            ctx.topic,
            ctx.java,
            app.fault_table.name(),
            avoidance[0]
        ),
        // Narrow: how the sends behave first, where they go last (that is what gets cut).
        format!(
            " Java {} · table {} · avoidance {} · {attempt} · {target} · topic {}",
            ctx.java,
            app.fault_table.name(),
            avoidance[1],
            ctx.topic
        ),
        // Narrowest (80 columns): every setting in its fewest words, then where they go.
        format!(
            " Java {} · {} · avoid {} · attempt {} · {target} · {}",
            ctx.java,
            app.fault_table.name(),
            if app.avoidance { "ON" } else { "OFF" },
            ctx.attempt_timeout.map_or("off".to_string(), |d| format!("{} ms", d.as_millis())),
            ctx.topic,
        ),
    ];
    let text = match candidates.iter().find(|c| c.chars().count() <= room) {
        Some(c) => c.clone(),
        None => {
            let mut cut: String = candidates[2].chars().take(room.saturating_sub(1)).collect();
            cut.push('…');
            cut
        }
    };
    left.push(Span::styled(text, t.text()));
    let left_w: usize = left.iter().map(|s| s.content.chars().count()).sum();
    let pad = (area.width as usize).saturating_sub(left_w + right_w);
    let mut line1 = left;
    line1.push(Span::raw(" ".repeat(pad)));
    line1.extend(badges);

    let s = &v.stats;
    // With --stages / --burst, the rate the ramp is at now, marked as shaped.
    let shaped = app.settings.shape.is_some();
    let rate = match if shaped { v.schedule_rate.or(Some(0.0)) } else { app.settings.rate } {
        Some(r) if r >= 1.0 => format!("{}/s", count(r as u64)),
        Some(r) if shaped => format!("{:.0}/s", r),
        Some(r) => format!("{r}/s"),
        None => "max".to_string(),
    };
    let (shape_long, shape_short) = if shaped { (" shaped", "~") } else { ("", "") };
    // Where latency counts from: open (each send's slot on the schedule) or closed.
    let model = if app.settings.is_open() { "open" } else { "closed" };
    let p = |q| ms_cell((!s.latency.is_empty()).then(|| (quantile_ms(&s.latency, q) * 1000.0) as u64));
    // Each fact in a long and a short form, most important first: when the line is too narrow
    // the last ones take their short form first, so every fact stays on screen.
    let mut facts: Vec<(String, String, ratatui::style::Style)> = vec![
        (
            format!(" rate {rate}{shape_long} {model}  in flight {}/{}", v.in_flight, app.settings.concurrency),
            format!(" {rate}{shape_short} {model} {}/{}", v.in_flight, app.settings.concurrency),
            t.text(),
        ),
        (format!("  sent {}", count(s.sent)), format!(" sent {}", count(s.sent)), t.text()),
        (format!("  ok {}", count(s.ok)), format!(" ok {}", count(s.ok)), t.ok()),
        (
            format!("  failed {}", count(s.failed)),
            format!(" fail {}", count(s.failed)),
            if s.failed > 0 { t.error() } else { t.text() },
        ),
        (
            format!("  retried {}", count(s.retries)),
            format!(" retry {}", count(s.retries)),
            if s.retries > 0 { t.warn() } else { t.text() },
        ),
        (format!("  p50 {} ms  p99 {} ms", p(0.5), p(0.99)), format!(" p50/99 {}/{}", p(0.5), p(0.99)), t.text()),
    ];
    // The run's thresholds as they stand now: all passing, or the first one failing and its
    // measured value (what quitting would exit 4 for).
    if !app.thresholds.is_empty() {
        let verdicts = app.verdicts();
        let failing: Vec<usize> = (0..verdicts.len()).filter(|&i| !verdicts[i].ok).collect();
        let n = verdicts.len();
        facts.push(match failing.first() {
            None => (format!("  thresholds {n}/{n} ✓"), format!(" thr {n}/{n}✓"), t.ok()),
            Some(&i) => {
                let (th, v) = (&app.thresholds[i], &verdicts[i]);
                let more = if failing.len() > 1 { format!(" +{} more", failing.len() - 1) } else { String::new() };
                (
                    format!("  ✗ {} at {}{more}", v.expr, th.measured(v)),
                    format!(" ✗ {}{}", v.expr, if failing.len() > 1 { "+" } else { "" }),
                    t.error(),
                )
            }
        });
    }
    // Sends the in-flight limit (or a key's previous send) held back past their slot: counted
    // when they complete, and how far behind the schedule is right now.
    if s.behind_schedule > 0 || !v.schedule_lag.is_zero() {
        let (what, lag) = if v.schedule_lag.is_zero() { ("max lag", s.max_lag) } else { ("lag now", v.schedule_lag) };
        let lag =
            if lag >= std::time::Duration::from_secs(1) { super::app::fmt_secs(lag) } else { super::app::fmt_ms(lag) };
        facts.push((
            format!("  behind {} ({what} {lag})", count(s.behind_schedule)),
            format!(" behind {} {lag}", count(s.behind_schedule)),
            t.warn(),
        ));
    }
    // Overload as the Java client meets it: sends waiting for an executor thread, or for one of
    // the async permits.
    if v.sender.queued > 0 {
        let n = count(v.sender.queued as u64);
        facts.push((format!("  executor queue {n}"), format!(" exec q {n}"), t.warn()));
    }
    if v.sender.waiting_for_permit > 0 {
        let n = count(v.sender.waiting_for_permit as u64);
        facts.push((format!("  waiting for a permit {n}"), format!(" permit wait {n}"), t.warn()));
    }
    if s.oneway > 0 {
        let n = count(s.oneway);
        facts.push((format!("  oneway {n} (nothing known)"), format!(" oneway {n}"), t.muted()));
    }
    if s.ordered > 0 {
        let n = count(s.ordered);
        facts.push((format!("  ordered {n} (by key, no failover)"), format!(" ordered {n}"), t.muted()));
    }
    let half = s.tx_commit + s.tx_rollback + s.tx_unknown;
    if half > 0 || v.check_backs > 0 {
        let (h, c, r, u, k) =
            (count(half), count(s.tx_commit), count(s.tx_rollback), count(s.tx_unknown), count(v.check_backs));
        facts.push((
            format!("  half {h}: commit {c} rollback {r} unknown {u} · check-backs {k}"),
            format!(" half {h} c/r/u {c}/{r}/{u} chk {k}"),
            t.text(),
        ));
    }
    if v.lagged > 0 {
        let n = count(v.lagged);
        facts.push((format!("  view lagged {n} events"), format!(" lagged {n}"), t.warn()));
    }
    let width = area.width as usize;
    let mut short = vec![false; facts.len()];
    let len = |short: &[bool]| -> usize {
        facts.iter().zip(short).map(|((l, s, _), sh)| if *sh { s } else { l }.chars().count()).sum()
    };
    for i in (0..facts.len()).rev() {
        if len(&short) <= width {
            break;
        }
        short[i] = true;
    }
    let line2: Vec<Span> =
        facts.into_iter().zip(short).map(|((l, s, style), sh)| Span::styled(if sh { s } else { l }, style)).collect();
    f.render_widget(Paragraph::new(vec![Line::from(line1), Line::from(line2)]).style(t.header()), area);
}

/// The warning an operator should see now (the latest, while recent): the banner under the header.
pub fn banner_text(app: &App) -> Option<&str> {
    let v = app.view();
    v.warnings
        .back()
        .filter(|(at, _)| v.now.saturating_duration_since(*at).as_secs() < super::app::WARNING_SECS)
        .map(|(_, w)| w.as_str())
}

/// The banner: why sends cannot start or keep failing, in words an operator can act on.
pub fn render_banner(f: &mut Frame, app: &App, area: Rect) {
    if let Some(w) = banner_text(app) {
        let style = app.theme.error().add_modifier(ratatui::style::Modifier::REVERSED);
        f.render_widget(Paragraph::new(Line::from(Span::styled(format!(" ⚠ {w} "), style))), area);
    }
}
