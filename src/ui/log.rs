//! The latest sends, newest first: time, status, the attempt trail, queue, offset, msgId.
//! `/` filters; Enter opens one.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::app::{fmt_ms, App, Focus};
use super::fmt::fit;
use super::theme::Theme;
use crate::producer::{AttemptOutcome, AttemptRecord, SendOutcome};
use crate::remoting::codes::response_code_label;

/// One attempt as the trail shows it: `broker-b ✕ timeout 3000 ms`, `broker-a ✓ 0.41 ms`.
pub fn attempt_text(a: &AttemptRecord) -> String {
    match a.outcome {
        AttemptOutcome::Ok => format!("{} ✓ {}", a.broker, fmt_ms(a.latency)),
        AttemptOutcome::Status => {
            format!("{} ✓ {} {}", a.broker, a.code.map(response_code_label).unwrap_or_default(), fmt_ms(a.latency))
        }
        AttemptOutcome::BrokerError => {
            format!("{} ✕ {}, broker error: no retry", a.broker, a.code.map(response_code_label).unwrap_or_default())
        }
        AttemptOutcome::Written => format!("{} → written (oneway: no reply)", a.broker),
        _ => format!("{} ✕ {}", a.broker, failure_words(a)),
    }
}

pub use crate::stats::words::failure_words;

fn row<'a>(app: &App, t: &Theme, o: &'a SendOutcome, width: usize) -> Line<'a> {
    let time = app.ctx.wall(o.started).format("%H:%M:%S%.3f").to_string();
    let status_style = match &o.result {
        // Written, nothing known.
        Ok(_) if o.oneway => t.muted(),
        Ok(s) if s.status == crate::protocol::send::SendStatus::SEND_OK => t.ok(),
        Ok(_) => t.warn(),
        Err(_) => t.error(),
    };
    let mut spans = vec![
        Span::styled(format!("{time} "), t.muted()),
        // SEND_OK and FAILED line up; the rare longer statuses (FLUSH_DISK_TIMEOUT…) take their length.
        Span::styled(format!("{:<7} ", o.status_name()), status_style),
    ];
    for (i, a) in o.attempts.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" → ", t.muted()));
        }
        let style = match a.outcome {
            AttemptOutcome::Written => t.muted(),
            o if o.is_stored() => t.text(),
            _ => t.error(),
        };
        spans.push(Span::styled(attempt_text(a), style));
    }
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    match &o.result {
        Ok(s) => {
            let mut key = o.sharding_key.as_deref().map(|k| format!("  key {k}")).unwrap_or_default();
            if let Some(t) = &o.transaction {
                key = match &t.end {
                    Ok(()) => format!("  half → {}", t.local.name()),
                    Err(_) => format!("  half → {} not sent", t.local.name()),
                };
            }
            let place = format!("{key}  q{} off {}", s.queue_id, s.queue_offset);
            // The msgId only when it fits whole (a cut id is no use).
            let id = format!("  {}", o.msg_id);
            let fits = used + place.chars().count() + id.chars().count() <= width;
            spans.push(Span::styled(if fits { place + &id } else { place }, t.muted()));
        }
        Err(e) if o.attempts.is_empty() => spans.push(Span::styled(format!("  {}", e.message), t.error())),
        // An ordered send does not move: say so where the trail stays on one broker.
        Err(_) if o.sharding_key.is_some() => spans.push(Span::styled(
            format!("  key {}: ordered, not moved to another broker", o.sharding_key.as_deref().unwrap_or_default()),
            t.muted(),
        )),
        Err(_) => {}
    }
    // Cut to the width, keeping styles.
    let mut left = width;
    let mut out = Vec::new();
    for s in spans {
        if left == 0 {
            break;
        }
        let n = s.content.chars().count();
        if n <= left {
            left -= n;
            out.push(s);
        } else {
            out.push(Span::styled(fit(&s.content, left), s.style));
            left = 0;
        }
    }
    Line::from(out)
}

pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let inner_h = area.height.saturating_sub(2) as usize;
    let inner_w = area.width.saturating_sub(2) as usize;
    let sel = app.ui.log_sel;
    let skip = sel.saturating_sub(inner_h.saturating_sub(1));
    let focused = app.ui.focus == Focus::Log;
    let lines: Vec<Line> = app
        .filtered_log()
        .enumerate()
        .skip(skip)
        .take(inner_h)
        .map(|(i, o)| {
            let l = row(app, t, o, inner_w);
            if focused && i == sel {
                l.style(t.selected())
            } else {
                l
            }
        })
        .collect();
    let mut title = vec![Span::raw(" Sends, newest first ")];
    if app.ui.filter_editing || !app.ui.filter.is_empty() {
        title.push(Span::styled(
            format!("filter: {}{} ", app.ui.filter, if app.ui.filter_editing { "█" } else { "" }),
            t.warn(),
        ));
    }
    if lines.is_empty() {
        let empty = if app.view().log.is_empty() { "no sends yet" } else { "no send matches the filter" };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(if focused { t.focused_border() } else { t.border() })
            .title(Line::from(title));
        f.render_widget(Paragraph::new(Span::styled(empty, t.muted())).block(block), area);
        return;
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.focused_border() } else { t.border() })
        .title(Line::from(title));
    f.render_widget(Paragraph::new(lines).block(block), area);
}
