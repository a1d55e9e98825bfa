//! The config file (`~/.config/mqtui/config.toml`): its values become the defaults of their
//! flags, read by each flag's own value parser, below the command line and the environment.

use super::Cli;

/// Where the config file is: `MQTUI_CONFIG`, else `$XDG_CONFIG_HOME/mqtui/config.toml`, else
/// `~/.config/mqtui/config.toml`.
pub fn config_path() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("MQTUI_CONFIG").filter(|p| !p.is_empty()) {
        return Some(p.into());
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config")))?;
    Some(base.join("mqtui").join("config.toml"))
}

/// The config file, read: each key a flag's long name (`timeout-ms` or `timeout_ms`) with one
/// value, and where the value stands in the file (for the line an error names). Which keys
/// there are and what each value may be are the flags' own: a key is looked up among the flags,
/// a value read by its flag's value parser.
#[derive(Debug, serde::Deserialize)]
#[serde(transparent)]
struct ConfigFile {
    settings: std::collections::BTreeMap<String, toml::Spanned<Setting>>,
}

/// One setting's value: a string, an integer, a float or a boolean (not an array or a table).
#[derive(Debug)]
enum Setting {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Setting {
    /// As the command line would give it.
    fn as_arg(&self) -> String {
        match self {
            Setting::Text(s) => s.clone(),
            Setting::Int(i) => i.to_string(),
            Setting::Float(f) => f.to_string(),
            Setting::Bool(b) => b.to_string(),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Setting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Setting, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Setting;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a single value (a string, a number or true/false), as the flag takes it")
            }
            fn visit_str<E>(self, v: &str) -> Result<Setting, E> {
                Ok(Setting::Text(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Setting, E> {
                Ok(Setting::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Setting, E> {
                i64::try_from(v).map(Setting::Int).map_err(E::custom)
            }
            fn visit_f64<E>(self, v: f64) -> Result<Setting, E> {
                Ok(Setting::Float(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Setting, E> {
                Ok(Setting::Bool(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// The flags a config file may set: those with an environment variable (the settings; not
/// `--config`-like ones), by long name, in every (sub)command that has them.
fn settable(cmd: &clap::Command, key: &str) -> bool {
    cmd.get_arguments().any(|a| a.get_long() == Some(key) && a.get_env().is_some_and(|e| e != "MQTUI_CONFIG"))
        || cmd.get_subcommands().any(|sc| settable(sc, key))
}

/// `cmd` with `value` as the default of its flag `--key` and of every subcommand's; each is
/// checked by the flag's own value parser first.
fn with_default(mut cmd: clap::Command, key: &str, value: &'static str) -> Result<clap::Command, clap::Error> {
    let ids: Vec<clap::Id> =
        cmd.get_arguments().filter(|a| a.get_long() == Some(key)).map(|a| a.get_id().clone()).collect();
    for id in ids {
        if let Some(arg) = cmd.get_arguments().find(|a| *a.get_id() == id) {
            // The flag's own value parser, alone (its relations to other flags left out).
            let probe = clap::Arg::new("value")
                .long("value")
                .value_parser(arg.get_value_parser().clone())
                .action(clap::ArgAction::Set);
            clap::Command::new("mqtui")
                .no_binary_name(true)
                .arg(probe)
                .try_get_matches_from([format!("--value={value}")])?;
        }
        cmd = cmd.mut_arg(id, |a| a.default_value(value));
    }
    let subs: Vec<String> = cmd.get_subcommands().map(|sc| sc.get_name().to_string()).collect();
    for name in subs {
        let sub = cmd.find_subcommand(&name).cloned().expect("listed");
        let sub = with_default(sub, key, value)?;
        cmd = cmd.mut_subcommand(&name, |_| sub);
    }
    Ok(cmd)
}

/// The command definition with the config file's values as the defaults of their flags: a
/// typed config, read by the flags' own value parsers, below the command line and the
/// environment (clap's order: command line, then `MQTUI_*`, then these). Keys are flag names
/// (`timeout-ms` or `timeout_ms`). Errors name the file and the line.
pub fn command_with_config() -> Result<(clap::Command, Option<std::path::PathBuf>), String> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let Some(path) = config_path() else { return Ok((cmd, None)) };
    if !path.exists() && std::env::var_os("MQTUI_CONFIG").is_none() {
        return Ok((cmd, None));
    }
    let text = crate::bounds::read_text_limited(&path, crate::bounds::MAX_SETTINGS_FILE, "config file")?;
    let file: ConfigFile = toml::from_str(&text).map_err(|e| toml_error(&cmd, &path, &text, &e))?;
    let mut cmd = cmd;
    for (key, value) in &file.settings {
        let line = text[..value.span().start].matches('\n').count() + 1;
        let at = || format!("config file {}, line {line}", path.display());
        let flag = key.replace('_', "-");
        if !settable(&cmd, &flag) {
            return Err(format!("{}: unknown key '{key}' (keys are flag names, e.g. timeout-ms = 3000)", at()));
        }
        let v = value.get_ref().as_arg();
        let secret = is_secret(&cmd, &flag);
        // Once per process, before anything runs: the command definition keeps it.
        let v: &'static str = Box::leak(v.into_boxed_str());
        cmd = with_default(cmd, &flag, v).map_err(|e| {
            if secret {
                return format!("{}: the value of '{key}' is not one it takes (a secret: not shown)", at());
            }
            let why = e.to_string();
            let why = why.lines().next().unwrap_or_default().trim_start_matches("error: ");
            let why = why.replace("'--value <value>'", &format!("'{key}'"));
            format!("{}: {why}", at())
        })?;
    }
    Ok((cmd, Some(path)))
}

/// Whether `--flag` holds a secret (its environment value is hidden): an error never quotes it.
fn is_secret(cmd: &clap::Command, flag: &str) -> bool {
    cmd.get_arguments().any(|a| a.get_long() == Some(flag) && a.is_hide_env_values_set())
        || cmd.get_subcommands().any(|sc| is_secret(sc, flag))
}

/// A file that is not TOML: the line and column, and toml's reason, but never the line's text
/// (toml quotes it), and not even the reason on a secret's line (it may quote the value).
fn toml_error(cmd: &clap::Command, path: &std::path::Path, text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else { return format!("config file {}: {}", path.display(), e.message()) };
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_no = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let line = text[line_start..].lines().next().unwrap_or_default();
    let key = line.split('=').next().unwrap_or_default().trim().trim_matches(['"', '\'']).replace('_', "-");
    let why = if !key.is_empty() && is_secret(cmd, &key) {
        format!("the value of '{key}' does not parse (a secret: not shown)")
    } else {
        e.message().trim_end().to_string()
    };
    format!("config file {}, line {line_no}, column {column}: {why}", path.display())
}

/// The command line, with the config file's defaults under it; a bad config file is an error
/// (exit 2), a bad command line is clap's (help, version and usage errors as clap prints them).
pub fn parse() -> Result<Cli, String> {
    let (cmd, _) = command_with_config()?;
    let matches = cmd.get_matches();
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches).map_err(|e| e.to_string())
}
