//! The footer: key hints from the key map (the help reads the same map), or a message.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::App;
use super::keymap::footer_hints;

pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let line = if app.ui.filter_editing {
        Line::from(vec![
            Span::styled(format!(" /{}█", app.ui.filter), t.warn()),
            Span::styled("  enter apply  esc clear", t.muted()),
        ])
    } else if let Some((msg, _)) = &app.ui.status {
        Line::from(Span::styled(format!(" {msg}"), t.warn()))
    } else {
        let mut spans = Vec::new();
        for (key, hint) in footer_hints() {
            spans.push(Span::styled(format!(" {key}"), t.accent()));
            spans.push(Span::styled(format!(" {hint} "), t.muted()));
        }
        Line::from(spans)
    };
    f.render_widget(Paragraph::new(line), area);
}
