//! The help overlay, built from the key map.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::app::App;
use super::keymap::BINDINGS;

pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let mut lines: Vec<Line> = BINDINGS
        .iter()
        .map(|b| {
            Line::from(vec![Span::styled(format!(" {:<11}", b.key_label), t.accent()), Span::styled(b.help, t.text())])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        " States: OK · ISOLATED n s (not chosen until its window passes) · DOWN n s (could not connect)",
        t.muted(),
    )));
    let h = (lines.len() as u16 + 2).min(area.height);
    let w = 84.min(area.width);
    let r = Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default().borders(Borders::ALL).border_style(t.focused_border()).title(" Help · ? or esc closes "),
        ),
        r,
    );
}
