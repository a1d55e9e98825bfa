//! The latency histogram view (`l`): per broker, how the attempts of the last 10 s spread over
//! log-scaled buckets (0.1 ms … > 10 s, 1-2-5), as bars with their counts — where a percentile
//! hides a second mode (a broker answering most sends in 1 ms and some in 700 ms), this shows it.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::app::{App, WINDOW_SECS};
use crate::stats::{bucket_label, log_buckets};

pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let v = app.view();
    let brokers: Vec<(&str, Vec<u64>)> = v.brokers.values().map(|b| (&*b.name, log_buckets(&b.window))).collect();
    let title = format!(" Latency histogram · attempts per bucket, last {WINDOW_SECS} s · l or esc closes ");
    let mut lines = Vec::new();
    let nonempty = |i: usize| brokers.iter().any(|(_, c)| c[i] > 0);
    let n = crate::stats::LOG_BUCKETS_MS.len();
    let (first, last) = ((0..n).find(|i| nonempty(*i)), (0..n).rev().find(|i| nonempty(*i)));
    let w = area.width.saturating_sub(4).min(160) as usize;
    let label_w = 10;
    let col_w = if brokers.is_empty() { 0 } else { (w.saturating_sub(label_w) / brokers.len()).max(8) };
    match (first, last) {
        (Some(first), Some(last)) => {
            let mut head = vec![Span::styled(format!("{:<label_w$}", "latency"), t.muted())];
            for (name, c) in &brokers {
                let total: u64 = c.iter().sum();
                let cell: String = format!(" {name} ({total})").chars().take(col_w).collect();
                head.push(Span::styled(format!("{cell:<col_w$}"), t.accent()));
            }
            lines.push(Line::from(head));
            for i in first..=last {
                let mut row = vec![Span::styled(format!("{:>9} ", bucket_label(i)), t.muted())];
                for (k, (_, c)) in brokers.iter().enumerate() {
                    let top = c.iter().copied().max().unwrap_or(0).max(1);
                    let count = c[i];
                    let num = if count > 0 { format!(" {count}") } else { String::new() };
                    let room = col_w.saturating_sub(num.chars().count() + 2);
                    // Bars scaled per broker: the shape of each broker's spread, whatever its share.
                    let len = if count == 0 {
                        0
                    } else {
                        ((count as f64 / top as f64) * room as f64).ceil().max(1.0) as usize
                    };
                    row.push(Span::styled(format!(" {}", "█".repeat(len)), t.chart(k)));
                    row.push(Span::styled(format!("{num:<w$}", w = col_w.saturating_sub(len + 1)), t.text()));
                }
                lines.push(Line::from(row));
            }
        }
        _ => lines.push(Line::from(Span::styled(" no attempt in the last 10 s", t.muted()))),
    }
    let h = (lines.len() as u16 + 2).min(area.height);
    let width = (label_w + col_w * brokers.len() + 4).min(area.width as usize) as u16;
    let r = Rect::new(area.x + (area.width - width) / 2, area.y + (area.height - h) / 2, width, h);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .block(Block::default().borders(Borders::ALL).border_style(t.focused_border()).title(title)),
        r,
    );
}
