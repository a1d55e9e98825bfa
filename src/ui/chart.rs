//! Latency over time per broker: each second's p99 on a log scale, last 60 s.

use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType};
use ratatui::Frame;

use super::app::{App, HISTORY_SECS};

pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let v = app.view();
    let cur = v.second_of(v.now);
    let series: Vec<(String, Vec<(f64, f64)>)> = v
        .brokers
        .values()
        .map(|b| {
            let pts = b
                .per_second_p99(cur, HISTORY_SECS)
                .into_iter()
                .enumerate()
                .filter_map(|(i, p)| p.map(|us| (i as f64, (us.max(1) as f64).log10())))
                .collect();
            (b.name.to_string(), pts)
        })
        .collect();
    let datasets: Vec<Dataset> = series
        .iter()
        .enumerate()
        .map(|(i, (name, pts))| {
            Dataset::default()
                .name(name.clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(t.chart(i))
                .data(pts)
        })
        .collect();
    let y_labels = ["0.01", "1", "100", "10k"].map(|l| Span::styled(l, t.muted()));
    let chart = Chart::new(datasets)
        .block(
            Block::default().borders(Borders::ALL).border_style(t.border()).title(" p99 latency by broker, ms (log) "),
        )
        .x_axis(
            Axis::default()
                .bounds([0.0, (HISTORY_SECS - 1) as f64])
                .labels(["-60 s", "now"].map(|l| Span::styled(l, t.muted()))),
        )
        .y_axis(Axis::default().bounds([1.0, 7.0]).labels(y_labels));
    f.render_widget(chart, area);
}
