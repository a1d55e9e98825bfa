//! Popups: one send's every attempt, one broker's fault item and windows, the compose form.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{fmt_ms, App, Compose};
use super::fmt::countdown;
use super::log::attempt_text;
use crate::remoting::codes::response_code_label;

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

fn show(f: &mut Frame, app: &App, area: Rect, title: String, lines: Vec<Line>) {
    let h = lines.len() as u16 + 2;
    let r = centered(area, 110, h);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).border_style(app.theme.focused_border()).title(title)),
        r,
    );
}

pub fn send(f: &mut Frame, app: &App, area: Rect, id: u64) {
    match app.view().log.iter().find(|o| o.send == id) {
        Some(o) => send_detail(f, app, area, o, format!(" Send #{} · esc closes ", o.send)),
        None => show(f, app, area, " Send ".into(), vec![Line::raw(" this send has left the log")]),
    }
}

/// The composed message: sending, or its own result.
pub fn composed(f: &mut Frame, app: &App, area: Rect) {
    let done = app.composed.lock().unwrap().clone();
    match done {
        Some(o) => send_detail(f, app, area, &o, " The message you composed · esc closes ".into()),
        None => {
            show(f, app, area, " The message you composed ".into(), vec![Line::raw(" sending… its result shows here")])
        }
    }
}

fn send_detail(f: &mut Frame, app: &App, area: Rect, o: &crate::producer::SendOutcome, title: String) {
    let t = &app.theme;
    let kv =
        |k: &str, v: String| Line::from(vec![Span::styled(format!(" {k:<14}"), t.muted()), Span::styled(v, t.text())]);
    let mut lines = vec![
        kv("status", o.status_name().to_string()),
        kv("topic", o.topic.to_string()),
        kv("msgId", o.msg_id.clone()),
        kv("started", app.ctx.wall(o.started).format("%H:%M:%S%.3f").to_string()),
        kv("latency", fmt_ms(o.latency)),
    ];
    if let Some(k) = &o.sharding_key {
        lines.push(kv("sharding key", format!("{k} (ordered: its queue, retried there only)")));
    }
    if let Some(tx) = &o.transaction {
        lines.push(kv("transaction", format!("half message, then {}", tx.local.java_name())));
    }
    match &o.result {
        Ok(s) => {
            lines.push(kv("offsetMsgId", s.offset_msg_id.clone()));
            lines.push(kv("stored", format!("{} queue {} offset {}", s.broker, s.queue_id, s.queue_offset)));
        }
        Err(e) => lines.push(Line::from(vec![
            Span::styled(format!(" {:<14}", "error"), t.muted()),
            Span::styled(e.message.clone(), t.error()),
        ])),
    }
    for a in &o.attempts {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(
            format!(" attempt {}: {}", a.attempt, attempt_text(a)),
            match a.outcome {
                crate::producer::AttemptOutcome::Written => t.muted(),
                o if o.is_stored() => t.ok(),
                _ => t.error(),
            },
        )));
        lines.push(kv(
            "  sent to",
            format!(
                "{} at {}, queue {}, opaque {}",
                a.broker,
                a.addr.as_deref().unwrap_or("(no address)"),
                a.queue,
                a.opaque
            ),
        ));
        lines.push(kv(
            "  time budget",
            format!(
                "{} ms left before, timeout {} ms, {} ms left after",
                a.budget.as_millis(),
                a.timeout.as_millis(),
                a.budget.saturating_sub(a.latency).as_millis()
            ),
        ));
        let resp = match a.code {
            Some(c) => response_code_label(c),
            None => "no response".into(),
        };
        lines.push(kv("  outcome", format!("{} · {} · {}", a.outcome.name(), resp, fmt_ms(a.latency))));
        if let Some(e) = &a.error {
            lines.push(kv("  error", e.clone()));
        }
        let fault = match a.isolation {
            None => "none (fault avoidance off)".to_string(),
            Some(w) if w.is_zero() => "latency recorded, no window".to_string(),
            Some(w) => format!(
                "{} not available for {}{}",
                a.broker,
                super::fmt::fmt_secs(w),
                if a.fault_moved { "" } else { " (an open window already reached further)" }
            ),
        };
        lines.push(kv("  fault item", fault));
    }
    show(f, app, area, title, lines);
}

pub fn broker(f: &mut Frame, app: &App, area: Rect, name: &str) {
    let t = &app.theme;
    let v = app.view();
    let Some(b) = v.brokers.get(name) else { return };
    let kv =
        |k: &str, v: String| Line::from(vec![Span::styled(format!(" {k:<16}"), t.muted()), Span::styled(v, t.text())]);
    let mut lines = vec![
        kv(
            "fault item",
            match b.isolated_for(v.now) {
                Some(left) => format!("not available for {} more", countdown(left)),
                None => "available".into(),
            },
        ),
        kv("reachable", b.reachable.to_string()),
        kv("last latency", b.last_latency.map_or("-".into(), fmt_ms)),
        kv("last outcome", b.last_outcome.map_or("-".into(), |o| o.name().to_string())),
    ];
    if let Some(inj) = app.injected.get(name) {
        lines.push(kv("injected (demo)", inj.clone()));
    }
    if let Some(s) = v.stats.brokers.get(name) {
        let codes: Vec<String> = s.codes.iter().map(|(c, n)| format!("{} ×{n}", response_code_label(*c))).collect();
        let outcomes: Vec<String> = s.outcomes.iter().map(|(o, n)| format!("{o} ×{n}")).collect();
        lines.push(kv("error codes", if codes.is_empty() { "none".into() } else { codes.join(", ") }));
        lines.push(kv("failed attempts", if outcomes.is_empty() { "none".into() } else { outcomes.join(", ") }));
        lines.push(kv(
            "windows opened",
            format!("{}, isolated {} in all", s.isolations, super::fmt::fmt_secs(s.isolated_until(v.now))),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(" windows in the last 60 s:", t.muted())));
    for s in b.spans.iter().rev().take(8) {
        let ago = v.now.saturating_duration_since(s.start);
        lines.push(Line::raw(format!("  {} ago: {}", countdown(ago), s.why)));
    }
    show(f, app, area, format!(" {name} · esc closes "), lines);
}

pub fn compose(f: &mut Frame, app: &App, area: Rect, form: &Compose) {
    let t = &app.theme;
    let mut lines = Vec::new();
    for (i, label) in Compose::LABELS.iter().enumerate() {
        let cursor = if i == form.field { "█" } else { "" };
        let style = if i == form.field { t.accent() } else { t.text() };
        let hint = if i == form.field && !Compose::HINTS[i].is_empty() {
            format!("   {}", Compose::HINTS[i])
        } else {
            String::new()
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {label:<6} "), t.muted()),
            Span::styled(format!("{}{cursor}", form.fields[i]), style),
            Span::styled(hint, t.muted()),
        ]));
    }
    lines.push(Line::raw(""));
    if let Some(e) = &form.error {
        lines.push(Line::from(Span::styled(format!(" {e}"), t.error())));
    }
    lines.push(Line::from(Span::styled(
        " tab next field · enter send (remembered for this topic) · esc cancel",
        t.muted(),
    )));
    show(f, app, area, " Send one message ".into(), lines);
}

/// The cluster view: clusters, brokers, addresses; the topic's queues and perm per broker.
pub fn cluster(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let snapshot = app.controls.as_ref().and_then(|c| c.cluster_view.lock().unwrap().clone());
    let mut lines = Vec::new();
    match snapshot {
        None => lines.push(Line::raw(" asking the name server…")),
        Some((at, view)) => {
            let age = app.live.now.saturating_duration_since(at);
            lines.push(Line::from(Span::styled(
                format!(" from the name server {} ago, refreshed every 5 s", countdown(age)),
                t.muted(),
            )));
            if let Some(info) = &view.info {
                for (cluster, brokers) in &info.cluster_addr_table {
                    lines.push(Line::from(Span::styled(format!(" cluster {cluster}"), t.accent())));
                    for b in brokers {
                        let addrs = info.broker_addr_table.get(b).map_or("(no address)".to_string(), |d| {
                            d.broker_addrs
                                .iter()
                                .map(|(id, a)| format!("{} {a}", if *id == 0 { "master" } else { "slave" }))
                                .collect::<Vec<_>>()
                                .join(", ")
                        });
                        lines.push(Line::raw(format!("   {b:<16} {addrs}")));
                    }
                }
            }
            if let Some(route) = &view.route {
                lines.push(Line::raw(""));
                lines.push(Line::from(Span::styled(format!(" topic {}", app.ctx.topic), t.accent())));
                lines.push(Line::from(Span::styled(
                    format!("   {:<16} {:>5} {:>5} {:>5}  master", "broker", "read", "write", "perm"),
                    t.muted(),
                )));
                let mut qds = route.queue_datas.clone();
                qds.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
                for q in qds {
                    lines.push(Line::raw(format!(
                        "   {:<16} {:>5} {:>5} {:>5}  {}",
                        q.broker_name,
                        q.read_queue_nums,
                        q.write_queue_nums,
                        crate::admin::perm_text(q.perm),
                        route.master_addr(&q.broker_name).unwrap_or("(no master)")
                    )));
                }
                lines.push(Line::raw(format!("   {} writable queue(s)", route.publish_queues(&app.ctx.topic).len())));
            }
            if let Some(e) = &view.error {
                lines.push(Line::from(Span::styled(format!(" {e}"), t.error())));
            }
        }
    }
    // The demo cluster's own count: what a retry of a send that was only slow costs.
    if let Some(cluster) = app.controls.as_ref().and_then(|c| c.cluster.as_ref()) {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(" demo brokers: what they stored", t.accent())));
        lines.push(Line::from(Span::styled(
            format!(
                "   {:<16} {:>10} {:>10} {:>8} {:>16}",
                "broker", "stored", "duplicates", "faulted", "delayed (due)"
            ),
            t.muted(),
        )));
        for s in cluster.stats() {
            let style = if s.duplicate_keys > 0 { t.warn() } else { t.text() };
            lines.push(Line::from(Span::styled(
                format!(
                    "   {:<16} {:>10} {:>10} {:>8} {:>16}",
                    s.name,
                    s.messages,
                    s.duplicate_keys,
                    s.faulted,
                    format!("{} ({})", s.delayed, s.delayed_due)
                ),
                style,
            )));
        }
        lines.push(Line::from(Span::styled(
            "   duplicates: a UNIQ_KEY stored again (a retry after a slow attempt that was stored after all)",
            t.muted(),
        )));
        for s in cluster.stats().iter().filter(|s| s.ordered > 0) {
            let style = if s.ordered_out_of_order + s.ordered_moved > 0 { t.warn() } else { t.text() };
            lines.push(Line::from(Span::styled(
                format!(
                    "   {}: {} ordered, {} out of send order, {} moved to another queue",
                    s.name, s.ordered, s.ordered_out_of_order, s.ordered_moved
                ),
                style,
            )));
        }
    }
    show(f, app, area, " Cluster · v or esc closes ".into(), lines);
}
