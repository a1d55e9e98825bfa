//! The console drawn into a TestBackend, as the text a snapshot holds.

use mqtui::ui::app::App;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// `app` drawn at `w`×`h`, one line per row.
pub fn text(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| mqtui::ui::render(f, app)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}
