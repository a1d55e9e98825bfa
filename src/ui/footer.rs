//! The footer: key hints from the key map (the help reads the same map), or a message.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::App;
use super::keymap::footer_hints;

/// One way of writing a (key, hint) pair.
type Tier = dyn Fn(&str, &str) -> (String, String);

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
        // Every key stays on screen: the hints shorten, then go (the keys stay, and ? lists them
        // all), until the line fits.
        let hints = footer_hints();
        let width = area.width as usize;
        let tiers: [&Tier; 4] = [
            &|k, h| (format!(" {k}"), format!(" {h} ")),
            &|k, h| (format!(" {}", compact_key(k)), format!(" {}", short_hint(h))),
            // The hints an operator needs first: help, quit, pause, the fault keys.
            &|k, h| {
                let keep = matches!(k, "?" | "q" | "p") || h == "fault on broker";
                (format!(" {}", compact_key(k)), if keep { format!(" {}", short_hint(h)) } else { String::new() })
            },
            &|k, _| (format!(" {}", compact_key(k)), if k == "?" { "help".to_string() } else { String::new() }),
        ];
        let mut chosen = Vec::new();
        for (n, tier) in tiers.iter().enumerate() {
            chosen = hints.iter().map(|(k, h)| tier(k, h)).collect::<Vec<_>>();
            let w: usize = chosen.iter().map(|(k, h)| k.chars().count() + h.chars().count()).sum();
            if w <= width || n == tiers.len() - 1 {
                break;
            }
        }
        let mut spans = Vec::new();
        for (k, h) in chosen {
            spans.push(Span::styled(k, t.accent()));
            spans.push(Span::styled(h, t.muted()));
        }
        Line::from(spans)
    };
    f.render_widget(Paragraph::new(line), area);
}

/// A key label in the fewest columns: `space` as ␣, `d e h k w c` as `dehkwc`.
fn compact_key(k: &str) -> String {
    match k {
        "space" => "␣".to_string(),
        k if k.len() > 3 && k.split(' ').all(|p| p.chars().count() == 1) => k.replace(' ', ""),
        k => k.to_string(),
    }
}

/// A hint in one short word.
fn short_hint(h: &str) -> &str {
    match h {
        "in flight" => "fly",
        "fault on broker" => "fault",
        "avoidance" => "avoid",
        "histogram" => "hist",
        "cluster" => "clust",
        "freeze" => "frz",
        h => h,
    }
}
