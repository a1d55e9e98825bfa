//! One key map: the footer's hints and the help overlay are both built from it, so they cannot
//! disagree with what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything a key can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    Freeze,
    Pause,
    RateUp,
    RateDown,
    ConcurrencyUp,
    ConcurrencyDown,
    Compose,
    ToggleAvoidance,
    ToggleTable,
    NextPanel,
    PrevPanel,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Filter,
    Open,
    Close,
    FaultLatency,
    FaultError,
    FaultHang,
    FaultDown,
    FaultGoAway,
    FaultClear,
    ClusterView,
    Histogram,
}

/// One binding: its keys, how the footer and the help name it.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [(KeyCode, KeyModifiers)],
    /// How the keys are written in hints, e.g. `+/-`.
    pub key_label: &'static str,
    pub action: Action,
    /// Short, for the footer.
    pub hint: &'static str,
    /// Longer, for the help overlay.
    pub help: &'static str,
    /// Shown in the footer (the help shows all).
    pub in_footer: bool,
    /// The keys as the footer writes them, when it groups several bindings (`d e h k c`).
    pub footer_keys: &'static str,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

/// The key map, in the order the footer and help list it.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[(KeyCode::Char('?'), NONE), (KeyCode::Char('?'), SHIFT), (KeyCode::F(1), NONE)],
        key_label: "?",
        action: Action::Help,
        hint: "help",
        help: "show or hide this help",
        in_footer: true,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char('q'), NONE), (KeyCode::Char('c'), CTRL)],
        key_label: "q",
        action: Action::Quit,
        hint: "quit",
        help: "quit (also Ctrl-C); the terminal is restored",
        in_footer: true,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char(' '), NONE)],
        key_label: "space",
        action: Action::Freeze,
        hint: "freeze",
        help: "freeze the view (the producer goes on; unfreezing jumps to now)",
        in_footer: true,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char('p'), NONE)],
        key_label: "p",
        action: Action::Pause,
        hint: "pause",
        help: "pause or resume the producer (sends in flight finish)",
        in_footer: true,
        footer_keys: "",
    },
    Binding {
        keys: &[
            (KeyCode::Char('+'), NONE),
            (KeyCode::Char('+'), SHIFT),
            (KeyCode::Char('='), NONE),
            (KeyCode::Char('-'), NONE),
        ],
        key_label: "+/-",
        action: Action::RateUp,
        hint: "rate",
        help: "raise / lower the send rate",
        in_footer: true,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char(']'), NONE), (KeyCode::Char('['), NONE)],
        key_label: "[/]",
        action: Action::ConcurrencyUp,
        hint: "in flight",
        help: "lower / raise the sends in flight",
        in_footer: true,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char('s'), NONE)],
        key_label: "s",
        action: Action::Compose,
        hint: "send",
        help: "compose one message (props, delay, sharding key…), see its result",
        in_footer: true,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char('d'), NONE)],
        key_label: "d",
        action: Action::FaultLatency,
        hint: "",
        help: "demo: add 700 ms latency to the selected broker (again: more)",
        in_footer: false,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char('e'), NONE)],
        key_label: "e",
        action: Action::FaultError,
        hint: "",
        help: "demo: the selected broker answers SYSTEM_BUSY (toggle)",
        in_footer: false,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char('h'), NONE)],
        key_label: "h",
        action: Action::FaultHang,
        hint: "",
        help: "demo: the selected broker hangs, never answers (toggle)",
        in_footer: false,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char('k'), NONE)],
        key_label: "k",
        action: Action::FaultDown,
        hint: "",
        help: "demo: the selected broker goes down (toggle)",
        in_footer: false,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char('w'), NONE)],
        key_label: "w",
        action: Action::FaultGoAway,
        hint: "",
        help:
            "demo: the selected broker answers GO_AWAY on its open connections, as a 5.x broker shutting down (toggle)",
        in_footer: false,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char('c'), NONE)],
        key_label: "c",
        action: Action::FaultClear,
        hint: "fault on broker",
        help: "demo: clear every fault of the selected broker",
        in_footer: true,
        footer_keys: "d e h k w c",
    },
    Binding {
        keys: &[(KeyCode::Char('a'), NONE)],
        key_label: "a",
        action: Action::ToggleAvoidance,
        hint: "avoidance",
        help: "turn latency fault avoidance on or off",
        in_footer: true,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char('t'), NONE)],
        key_label: "t",
        action: Action::ToggleTable,
        hint: "table",
        help: "switch the fault table between 5.x and 4.x",
        in_footer: true,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char('v'), NONE)],
        key_label: "v",
        action: Action::ClusterView,
        hint: "cluster",
        help: "the cluster and the topic's route as the name server has them (refreshed)",
        in_footer: true,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char('l'), NONE)],
        key_label: "l",
        action: Action::Histogram,
        hint: "histogram",
        help: "per broker, the latencies of the last 10 s over log-scaled buckets",
        in_footer: true,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Char('/'), NONE)],
        key_label: "/",
        action: Action::Filter,
        hint: "filter",
        help: "filter the sends (broker, status, any text); Esc clears",
        in_footer: true,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Enter, NONE)],
        key_label: "enter",
        action: Action::Open,
        hint: "detail",
        help: "details of the selected send or broker",
        in_footer: false,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Esc, NONE)],
        key_label: "esc",
        action: Action::Close,
        hint: "",
        help: "close a popup, clear the filter",
        in_footer: false,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Tab, NONE), (KeyCode::Right, NONE)],
        key_label: "tab",
        action: Action::NextPanel,
        hint: "",
        help: "next panel (also →)",
        in_footer: false,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::BackTab, SHIFT), (KeyCode::BackTab, NONE), (KeyCode::Left, NONE)],
        key_label: "shift-tab",
        action: Action::PrevPanel,
        hint: "",
        help: "previous panel (also ←)",
        in_footer: false,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Up, NONE)],
        key_label: "↑",
        action: Action::Up,
        hint: "",
        help: "previous row",
        in_footer: false,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Down, NONE)],
        key_label: "↓",
        action: Action::Down,
        hint: "",
        help: "next row",
        in_footer: false,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::PageUp, NONE)],
        key_label: "pgup",
        action: Action::PageUp,
        hint: "",
        help: "a page up",
        in_footer: false,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::PageDown, NONE)],
        key_label: "pgdn",
        action: Action::PageDown,
        hint: "",
        help: "a page down",
        in_footer: false,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)],
        key_label: "home",
        action: Action::Top,
        hint: "",
        help: "first row (newest send)",
        in_footer: false,
        footer_keys: "",
    },
    Binding {
        keys: &[(KeyCode::End, NONE), (KeyCode::Char('G'), SHIFT), (KeyCode::Char('G'), NONE)],
        key_label: "end",
        action: Action::Bottom,
        hint: "",
        help: "last row",
        in_footer: false,
        footer_keys: "",
    },
];

/// The action of a key press in the main view, if any.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    // Pairs that share a binding row: the second key does the opposite.
    match (key.code, key.modifiers) {
        (KeyCode::Char('-'), _) => return Some(Action::RateDown),
        (KeyCode::Char('['), _) => return Some(Action::ConcurrencyDown),
        (KeyCode::Char('k'), NONE) => return Some(Action::FaultDown),
        _ => {}
    }
    BINDINGS
        .iter()
        .find(|b| {
            b.keys.iter().any(|(c, m)| {
                *c == key.code
                    && (*m == key.modifiers
                        || (*m == NONE
                            && key.modifiers == SHIFT
                            && matches!(c, KeyCode::Char(ch) if !ch.is_ascii_lowercase())))
            })
        })
        .map(|b| b.action)
}

/// The footer's hints: `? help  q quit  …`.
pub fn footer_hints() -> Vec<(&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| b.in_footer)
        .map(|b| (if b.footer_keys.is_empty() { b.key_label } else { b.footer_keys }, b.hint))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(c, m)
    }

    #[test]
    fn keys_map_to_actions() {
        assert_eq!(action_for(&key(KeyCode::Char('q'), NONE)), Some(Action::Quit));
        assert_eq!(action_for(&key(KeyCode::Char('c'), CTRL)), Some(Action::Quit));
        assert_eq!(action_for(&key(KeyCode::Char('c'), NONE)), Some(Action::FaultClear));
        assert_eq!(action_for(&key(KeyCode::Char('?'), SHIFT)), Some(Action::Help));
        assert_eq!(action_for(&key(KeyCode::Char('+'), SHIFT)), Some(Action::RateUp));
        assert_eq!(action_for(&key(KeyCode::Char('-'), NONE)), Some(Action::RateDown));
        assert_eq!(action_for(&key(KeyCode::Char('['), NONE)), Some(Action::ConcurrencyDown));
        assert_eq!(action_for(&key(KeyCode::Char(']'), NONE)), Some(Action::ConcurrencyUp));
        assert_eq!(action_for(&key(KeyCode::Char('k'), NONE)), Some(Action::FaultDown));
        assert_eq!(action_for(&key(KeyCode::Char('z'), NONE)), None);
    }

    #[test]
    fn every_action_has_help_and_no_key_is_bound_twice() {
        let mut seen = std::collections::HashSet::new();
        for b in BINDINGS {
            assert!(!b.help.is_empty());
            for k in b.keys {
                assert!(seen.insert(*k), "{k:?} bound twice");
            }
        }
        let hints: Vec<_> = footer_hints().into_iter().map(|(k, _)| k).collect();
        assert_eq!(hints[..3], ["?", "q", "space"]);
    }
}
