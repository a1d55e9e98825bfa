//! Themes are data: `themes/*.toml` with semantic slots (ok, warn, error, isolated, …). The
//! built-in ones are compiled in; `--theme FILE` reads another. NO_COLOR turns colour off (state
//! is always in the text too).

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Color,
    pub muted: Color,
    pub accent: Color,
    pub ok: Color,
    pub warn: Color,
    pub error: Color,
    pub isolated: Color,
    pub down: Color,
    pub selected_bg: Color,
    pub border: Color,
    pub header_bg: Color,
    pub chart: Vec<Color>,
    /// NO_COLOR: every style is the terminal's default, with modifiers only.
    pub monochrome: bool,
}

pub const BUILTIN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    text: Option<String>,
    muted: Option<String>,
    accent: Option<String>,
    ok: Option<String>,
    warn: Option<String>,
    error: Option<String>,
    isolated: Option<String>,
    down: Option<String>,
    selected_bg: Option<String>,
    border: Option<String>,
    header_bg: Option<String>,
    chart: Option<Vec<String>>,
}

fn color(s: &str, slot: &str, origin: &str) -> Result<Color, String> {
    s.parse::<Color>()
        .map_err(|_| format!("theme {origin}: {slot} = {s:?} is not a colour (a name like \"cyan\", or \"#rrggbb\")"))
}

impl Theme {
    fn from_file(text: &str, name: &str, origin: &str, base: Option<&Theme>) -> Result<Theme, String> {
        let f: File = toml::from_str(text).map_err(|e| format!("theme {origin}: {e}"))?;
        let pick = |v: &Option<String>, slot: &str, dflt: Option<Color>| -> Result<Color, String> {
            match (v, dflt) {
                (Some(s), _) => color(s, slot, origin),
                (None, Some(c)) => Ok(c),
                (None, None) => Err(format!("theme {origin}: {slot} is missing")),
            }
        };
        Ok(Theme {
            name: name.to_string(),
            text: pick(&f.text, "text", base.map(|b| b.text))?,
            muted: pick(&f.muted, "muted", base.map(|b| b.muted))?,
            accent: pick(&f.accent, "accent", base.map(|b| b.accent))?,
            ok: pick(&f.ok, "ok", base.map(|b| b.ok))?,
            warn: pick(&f.warn, "warn", base.map(|b| b.warn))?,
            error: pick(&f.error, "error", base.map(|b| b.error))?,
            isolated: pick(&f.isolated, "isolated", base.map(|b| b.isolated))?,
            down: pick(&f.down, "down", base.map(|b| b.down))?,
            selected_bg: pick(&f.selected_bg, "selected_bg", base.map(|b| b.selected_bg))?,
            border: pick(&f.border, "border", base.map(|b| b.border))?,
            header_bg: pick(&f.header_bg, "header_bg", base.map(|b| b.header_bg))?,
            chart: match (&f.chart, base) {
                (Some(c), _) if !c.is_empty() => {
                    c.iter().map(|s| color(s, "chart", origin)).collect::<Result<_, _>>()?
                }
                (_, Some(b)) => b.chart.clone(),
                _ => return Err(format!("theme {origin}: chart is missing")),
            },
            monochrome: false,
        })
    }

    pub fn dark() -> Theme {
        Theme::from_file(BUILTIN[0].1, "dark", "dark", None).expect("the built-in dark theme parses")
    }

    /// A built-in theme by name, or a theme file by path (slots it leaves out keep dark's).
    pub fn load(name_or_path: &str) -> Result<Theme, String> {
        if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Theme::from_file(text, name, name, Some(&Theme::dark()));
        }
        let path = std::path::Path::new(name_or_path);
        if !path.exists() {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            return Err(format!("unknown theme {name_or_path:?}: not one of {} and no such file", names.join(", ")));
        }
        let text = crate::bounds::read_text_limited(path, crate::bounds::MAX_SETTINGS_FILE, "theme")?;
        let name = path.file_stem().map_or("custom".into(), |s| s.to_string_lossy().into_owned());
        Theme::from_file(&text, &name, name_or_path, Some(&Theme::dark()))
    }

    /// No colours at all (NO_COLOR).
    pub fn monochrome(mut self) -> Theme {
        self.monochrome = true;
        self
    }

    fn fg(&self, c: Color) -> Style {
        if self.monochrome {
            Style::default()
        } else {
            Style::default().fg(c)
        }
    }

    pub fn text(&self) -> Style {
        self.fg(self.text)
    }
    pub fn muted(&self) -> Style {
        if self.monochrome {
            Style::default().add_modifier(Modifier::DIM)
        } else {
            self.fg(self.muted)
        }
    }
    pub fn accent(&self) -> Style {
        self.fg(self.accent).add_modifier(Modifier::BOLD)
    }
    pub fn ok(&self) -> Style {
        self.fg(self.ok)
    }
    pub fn warn(&self) -> Style {
        self.fg(self.warn)
    }
    pub fn error(&self) -> Style {
        self.fg(self.error).add_modifier(Modifier::BOLD)
    }
    pub fn isolated(&self) -> Style {
        self.fg(self.isolated).add_modifier(Modifier::BOLD)
    }
    pub fn down(&self) -> Style {
        self.fg(self.down).add_modifier(Modifier::BOLD)
    }
    pub fn border(&self) -> Style {
        self.fg(self.border)
    }
    pub fn focused_border(&self) -> Style {
        self.fg(self.accent)
    }
    pub fn selected(&self) -> Style {
        if self.monochrome {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default().bg(self.selected_bg)
        }
    }
    pub fn header(&self) -> Style {
        if self.monochrome {
            Style::default()
        } else {
            Style::default().bg(self.header_bg)
        }
    }
    pub fn chart(&self, i: usize) -> Style {
        self.fg(self.chart[i % self.chart.len()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_load_and_files_override_slots() {
        for (name, _) in BUILTIN {
            let t = Theme::load(name).unwrap();
            assert_eq!(t.name, name);
            assert!(!t.chart.is_empty());
        }
        let dir = std::env::temp_dir().join(format!("mqtui-theme-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("mine.toml");
        std::fs::write(&f, "ok = \"#00ff00\"\n").unwrap();
        let t = Theme::load(f.to_str().unwrap()).unwrap();
        assert_eq!(t.ok, Color::Rgb(0, 255, 0));
        assert_eq!(t.error, Theme::dark().error);
        std::fs::write(&f, "ok = \"not-a-colour\"\n").unwrap();
        assert!(Theme::load(f.to_str().unwrap()).unwrap_err().contains("not a colour"));
        std::fs::write(&f, "\nokk = \"red\"\n").unwrap();
        let e = Theme::load(f.to_str().unwrap()).unwrap_err();
        assert!(e.contains("line 2") && e.contains("okk"), "{e}");
        assert!(Theme::load("nope").is_err());
        assert_eq!(Theme::dark().monochrome().ok(), Style::default());
    }
}
