//! Isolation windows over the last 60 s: shaded while isolated, ✕ where attempts failed, and
//! what opened the latest window.

use std::time::Duration;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::app::{App, HISTORY_SECS};
use super::fmt::{countdown, fit};

pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let v = app.view();
    let now = v.now;
    let inner_w = area.width.saturating_sub(2) as usize;
    let name_w = 10;
    let label_w = if inner_w > 100 { 44 } else { 0 };
    let cells = inner_w.saturating_sub(name_w + 1 + label_w + 1).max(1);
    let span_total = Duration::from_secs(HISTORY_SECS);
    let start = now.checked_sub(span_total).unwrap_or(v.stats.started);
    let dt = span_total.as_secs_f64() / cells as f64;
    let mut lines = Vec::new();
    for b in v.brokers.values() {
        let mut row = vec![Span::styled(format!("{:<name_w$} ", fit(&b.name, name_w)), t.text())];
        // Mark cells in one pass over spans and failures, not per cell.
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            None,
            Idle,
            Isolated,
            Failed,
        }
        let cell_of = |t: tokio::time::Instant| -> Option<usize> {
            let d = t.checked_duration_since(start)?.as_secs_f64() / dt;
            (d < cells as f64).then_some(d as usize)
        };
        let first_live = v.stats.started.checked_duration_since(start).map_or(0, |d| (d.as_secs_f64() / dt) as usize);
        let mut marks = vec![Mark::None; cells];
        for m in marks.iter_mut().skip(first_live) {
            *m = Mark::Idle;
        }
        for s in &b.spans {
            let from = cell_of(s.start.max(start)).unwrap_or(0);
            let to = cell_of(s.end).map_or(cells, |c| c + 1);
            for m in marks.iter_mut().take(to).skip(from) {
                *m = Mark::Isolated;
            }
        }
        for x in &b.failures {
            if let Some(c) = cell_of(*x) {
                marks[c] = Mark::Failed;
            }
        }
        let mut run = String::new();
        let mut run_style = t.muted();
        for m in marks {
            let (ch, style) = match m {
                Mark::None => (' ', t.muted()),
                Mark::Idle => ('·', t.muted()),
                Mark::Isolated => ('▓', t.isolated()),
                Mark::Failed => ('✕', t.error()),
            };
            if style != run_style && !run.is_empty() {
                row.push(Span::styled(std::mem::take(&mut run), run_style));
            }
            run_style = style;
            run.push(ch);
        }
        row.push(Span::styled(run, run_style));
        if label_w > 0 {
            if let Some(s) = b.spans.back() {
                let label = if s.end > now {
                    format!(" {}, {} left", s.why, countdown(s.end - now))
                } else {
                    format!(" {}", s.why)
                };
                row.push(Span::styled(fit(&label, label_w + 1), if s.end > now { t.isolated() } else { t.muted() }));
            }
        }
        lines.push(Line::from(row));
    }
    let block = Block::default().borders(Borders::ALL).border_style(t.border()).title(Line::from(vec![
        Span::raw(" Isolation windows, last 60 s "),
        Span::styled("▓ isolated  ✕ failed attempt ", t.muted()),
    ]));
    f.render_widget(Paragraph::new(lines).block(block), area);
}
