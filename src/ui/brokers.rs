//! The brokers table (trippy's hop table, per broker): state with a live countdown, attempts,
//! ok, failed, retries away and onto, latency over a sliding window, last latency, 60 s sparkline.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};
use ratatui::Frame;

use super::app::{App, BrokerState, Focus, WINDOW_SECS};
use super::fmt::{count, countdown, ms_cell, sparkline};

pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let v = app.view();
    let now = v.now;
    let cur = v.second_of(now);
    let spark_w: u16 = if area.width >= 150 {
        20
    } else if area.width >= 110 {
        10
    } else {
        0
    };
    let show_injected = !app.injected.is_empty() && area.width >= 130;
    let header_cells = {
        let mut h = vec!["", "broker", "state", "attempts", "ok", "fail", "away", "onto", "p50", "p99", "max", "last"];
        if spark_w > 0 {
            h.push("60 s");
        }
        if show_injected {
            h.push("injected (demo)");
        }
        h
    };
    let header = Row::new(header_cells.into_iter().map(|h| Cell::from(h).style(t.muted())));
    let rows = v.brokers.values().enumerate().map(|(i, b)| {
        let s = v.stats.brokers.get(&b.name);
        let get = |f: fn(&crate::stats::BrokerStats) -> u64| s.map_or(0, f);
        let (state, style) = match b.state(now) {
            BrokerState::Ok => ("OK".to_string(), t.ok()),
            BrokerState::Isolated(left) => (format!("ISOLATED {}", countdown(left)), t.isolated()),
            BrokerState::Down(left) => (format!("DOWN {}", countdown(left)), t.down()),
        };
        let w = &b.window;
        let q = |x: f64| (!w.is_empty()).then(|| w.value_at_quantile(x));
        let failed = get(|s| s.failed);
        let mut cells = vec![
            Cell::from(if i == app.ui.broker_sel { "▶" } else { " " }).style(t.accent()),
            Cell::from(b.name.to_string()).style(t.text()),
            Cell::from(state).style(style),
            Cell::from(count(get(|s| s.attempts))),
            Cell::from(count(get(|s| s.ok))).style(t.ok()),
            Cell::from(count(failed)).style(if failed > 0 { t.error() } else { t.text() }),
            Cell::from(count(get(|s| s.retried_away))),
            Cell::from(count(get(|s| s.retried_onto))),
            Cell::from(ms_cell(q(0.5))),
            Cell::from(ms_cell(q(0.99))),
            Cell::from(ms_cell((!w.is_empty()).then(|| w.max()))),
            Cell::from(ms_cell(b.last_latency.map(|l| l.as_micros() as u64))),
        ];
        if spark_w > 0 {
            cells.push(Cell::from(sparkline(&b.per_second_max(cur, spark_w as u64))).style(t.accent()));
        }
        if show_injected {
            let inj = app.injected.get(&b.name).map_or("", String::as_str);
            cells.push(Cell::from(inj.to_string()).style(if inj == "healthy" { t.muted() } else { t.warn() }));
        }
        let row = Row::new(cells);
        if i == app.ui.broker_sel && app.ui.focus == Focus::Brokers {
            row.style(t.selected())
        } else {
            row
        }
    });
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(10),
        Constraint::Length(16),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
    ];
    if spark_w > 0 {
        widths.push(Constraint::Length(spark_w));
    }
    if show_injected {
        widths.push(Constraint::Min(16));
    }
    let focused = app.ui.focus == Focus::Brokers;
    let title = Line::from(vec![
        Span::raw(" Brokers "),
        Span::styled(format!("· latency ms over {WINDOW_SECS} s · retried away / onto "), t.muted()),
    ]);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.focused_border() } else { t.border() })
        .title(title);
    f.render_widget(
        Table::new(rows, widths).header(header).block(block).column_spacing(1).style(Style::default()),
        area,
    );
}
