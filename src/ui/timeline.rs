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
        let mut run = String::new();
        let mut run_style = t.muted();
        for i in 0..cells {
            let c0 = start + Duration::from_secs_f64(dt * i as f64);
            let c1 = start + Duration::from_secs_f64(dt * (i + 1) as f64);
            let (ch, style) = if c0 < v.stats.started {
                (' ', t.muted())
            } else if b.failures.iter().any(|x| *x >= c0 && *x < c1) {
                ('✕', t.error())
            } else if b.spans.iter().any(|s| s.start < c1 && s.end > c0) {
                ('▓', t.isolated())
            } else {
                ('·', t.muted())
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
