//! The brokers table (trippy's hop table, per broker): state with a live countdown, attempts,
//! ok, failed, retries away and onto, latency over a sliding window, last latency, 60 s
//! sparkline, and in demo mode the fault injected. Narrow terminals drop the less vital columns.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};
use ratatui::Frame;

use super::app::{hist_quantile, App, BrokerState, BrokerView, Focus, WINDOW_SECS};
use super::fmt::{count, countdown, ms_cell, sparkline};
use super::theme::Theme;
use crate::stats::BrokerStats;

/// A column: header, width, whether narrow terminals keep it, and its cell.
struct Col {
    header: &'static str,
    width: u16,
    /// Lower is more vital; columns are dropped from the highest rank down until they fit.
    rank: u8,
    cell: fn(&Ctx, &BrokerView, Option<&BrokerStats>) -> Cell<'static>,
}

struct Ctx<'a> {
    app: &'a App,
    t: &'a Theme,
    cur: u64,
    spark: u16,
}

/// A quantile of the window, never above the window's exact maximum (histogram buckets are
/// ±0.4 % wide).
fn window_quantile(c: &Ctx, b: &BrokerView, q: f64) -> Option<u64> {
    let v = hist_quantile(&b.window, q)?;
    Some(b.window_max(c.cur).map_or(v, |m| v.min(m)))
}

fn stat(s: Option<&BrokerStats>, f: fn(&BrokerStats) -> u64) -> u64 {
    s.map_or(0, f)
}

const COLS: &[Col] = &[
    Col { header: "broker", width: 10, rank: 0, cell: |c, b, _| Cell::from(b.name.to_string()).style(c.t.text()) },
    Col {
        header: "state",
        width: 15,
        rank: 0,
        cell: |c, b, _| match b.state(c.app.view().now) {
            BrokerState::Ok => Cell::from("OK").style(c.t.ok()),
            BrokerState::Isolated(left) => Cell::from(format!("ISOLATED {}", countdown(left))).style(c.t.isolated()),
            BrokerState::Down(left) => Cell::from(format!("DOWN {}", countdown(left))).style(c.t.down()),
        },
    },
    Col { header: "attempts", width: 8, rank: 1, cell: |_, _, s| Cell::from(count(stat(s, |s| s.attempts))) },
    Col { header: "ok", width: 8, rank: 0, cell: |c, _, s| Cell::from(count(stat(s, |s| s.ok))).style(c.t.ok()) },
    Col {
        header: "fail",
        width: 6,
        rank: 0,
        cell: |c, _, s| {
            let n = stat(s, |s| s.failed);
            Cell::from(count(n)).style(if n > 0 { c.t.error() } else { c.t.text() })
        },
    },
    Col { header: "away", width: 6, rank: 2, cell: |_, _, s| Cell::from(count(stat(s, |s| s.retried_away))) },
    Col { header: "onto", width: 6, rank: 2, cell: |_, _, s| Cell::from(count(stat(s, |s| s.retried_onto))) },
    Col { header: "p50", width: 6, rank: 1, cell: |c, b, _| Cell::from(ms_cell(window_quantile(c, b, 0.5))) },
    Col { header: "p99", width: 6, rank: 0, cell: |c, b, _| Cell::from(ms_cell(window_quantile(c, b, 0.99))) },
    Col { header: "max", width: 6, rank: 3, cell: |c, b, _| Cell::from(ms_cell(b.window_max(c.cur))) },
    Col {
        header: "last",
        width: 6,
        rank: 1,
        cell: |_, b, _| Cell::from(ms_cell(b.last_latency.map(|l| l.as_micros() as u64))),
    },
    Col {
        header: "60 s",
        width: 20,
        rank: 4,
        cell: |c, b, _| Cell::from(sparkline(&b.per_second_max(c.cur, c.spark as u64))).style(c.t.accent()),
    },
    Col {
        header: "injected",
        width: 24,
        rank: 5,
        cell: |c, b, _| {
            let inj = c.app.injected.get(&b.name).map_or(String::new(), Clone::clone);
            let style = if inj == "healthy" { c.t.muted() } else { c.t.warn() };
            Cell::from(inj).style(style)
        },
    },
];

pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let v = app.view();
    let inner = area.width.saturating_sub(2);
    // Keep the most vital columns that fit (1 for the marker, 1 space between columns).
    let mut max_rank = 5u8;
    let cols: Vec<&Col> = loop {
        let cols: Vec<&Col> =
            COLS.iter().filter(|c| c.rank <= max_rank && (c.rank != 5 || !app.injected.is_empty())).collect();
        let need: u16 = 1 + cols.iter().map(|c| c.width + 1).sum::<u16>();
        if need <= inner || max_rank == 0 {
            break cols;
        }
        max_rank -= 1;
    };
    let ctx = Ctx { app, t, cur: v.second_of(v.now), spark: 20 };
    let header = Row::new(
        std::iter::once(Cell::from(""))
            .chain(cols.iter().map(|c| Cell::from(c.header).style(t.muted())))
            .collect::<Vec<_>>(),
    );
    let rows = v.brokers.values().enumerate().map(|(i, b)| {
        let s = v.stats.brokers.get(&b.name);
        let marker = Cell::from(if i == app.ui.broker_sel { "▶" } else { " " }).style(t.accent());
        let row =
            Row::new(std::iter::once(marker).chain(cols.iter().map(|c| (c.cell)(&ctx, b, s))).collect::<Vec<_>>());
        if i == app.ui.broker_sel && app.ui.focus == Focus::Brokers {
            row.style(t.selected())
        } else {
            row
        }
    });
    let widths: Vec<Constraint> = std::iter::once(Constraint::Length(1))
        .chain(cols.iter().map(|c| if c.rank == 5 { Constraint::Min(c.width) } else { Constraint::Length(c.width) }))
        .collect();
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
