//! Where a plugin's refusal of its config is reported: at the option it names, when the option
//! is in the file, rather than at the middleware's type key.
//!
//! Plugins name the option their reason is about the way the bundled ones do
//! (`traefik-options`): `unknown option "stsSecondz" ...`, or `prefixes[1]: expected text, got
//! a map`. The option path is looked up under the middleware's options — the Traefik type key,
//! `plugin.config` (wasmgate's plugin form) or `plugin.<pluginName>` (Traefik's). A reason
//! naming no option, or one not written in the file, stays at the type key. A reason that only
//! has a JSON decoder's position (`... at line 1 column 24`) is placed at the option that
//! position falls in, without the position ([`super::json_position`]). Runs on the error path of
//! a load only.

use super::json_position::{path_at, strip_position};
use crate::config::{ConfigError, LoadedConfig};

/// The error for plugin `plugin` rejecting the config of the middleware whose type key is at
/// `key` (`["http", "middlewares", name, type_key]`), whose config JSON is `config_json`, with
/// `reason`.
pub(crate) fn rejection_at(
    config: &LoadedConfig,
    key: &[&str],
    plugin: &str,
    config_json: &str,
    reason: &str,
) -> ConfigError {
    let (reason, column) = strip_position(reason);
    let whole = format!("plugin {plugin:?} rejected its config: {reason}");
    let option = match (option_of(reason), column) {
        (Some((option, _)), _) => option,
        (None, Some(column)) => path_at(config_json, column),
        (None, None) => Vec::new(),
    };
    if option.is_empty() {
        return config.error_at(key, whole);
    }
    for options_key in options_keys(key, plugin) {
        if options_key.len() > key.len() && !config.is_written(&options_key) {
            // `plugin.config` / `plugin.<name>` is not in the file.
            continue;
        }
        let mut path = options_key.clone();
        path.extend(option.iter().map(String::as_str));
        // An index into a list written as one scalar (`users: "a"`) points at the scalar.
        while path.len() > options_key.len() + 1
            && path
                .last()
                .is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()))
            && !config.is_written(&path)
        {
            path.pop();
        }
        if !config.is_written(&path) {
            // The option is not written (a default the plugin refuses): keep the type key.
            break;
        }
        // The reason stays whole: it is the plugin's own text.
        return config.error_at(&path, whole);
    }
    config.error_at(key, whole)
}

/// Where a middleware's options are, for each form it may be written in.
fn options_keys<'k>(key: &[&'k str], plugin: &'k str) -> Vec<Vec<&'k str>> {
    if key.last() == Some(&crate::config::PLUGIN_KEY) {
        vec![[key, &["config"]].concat(), [key, &[plugin]].concat()]
    } else {
        vec![key.to_vec()]
    }
}

/// The option path a reason starts with, split into keys (`prefixes[1]` -> `prefixes`, `1`),
/// and the reason without it; for `unknown option "x" ...` the option and no shorter reason.
/// `ipStrategy: unknown option "dept" ...` is the unknown option inside the option.
fn option_of(reason: &str) -> Option<(Vec<String>, Option<&str>)> {
    if let Some(rest) = reason.strip_prefix("unknown option \"") {
        let (name, _) = rest.split_once('"')?;
        return Some((vec![name.to_string()], None));
    }
    let (path, rest) = reason.split_once(": ")?;
    let mut keys = option_path(path)?;
    if let Some((inner, None)) = option_of(rest) {
        keys.extend(inner);
    }
    Some((keys, Some(rest)))
}

/// `a.b[1]` -> `a`, `b`, `1`; `None` for text that is not an option path.
fn option_path(path: &str) -> Option<Vec<String>> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    let mut keys = Vec::new();
    for part in path.split('.') {
        let (name, indexes) = part.split_once('[').unwrap_or((part, ""));
        if !plain(name) {
            return None;
        }
        keys.push(name.to_string());
        if !indexes.is_empty() {
            for index in indexes.trim_end_matches(']').split("][") {
                if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                keys.push(index.to_string());
            }
        }
    }
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::option_of;

    #[test]
    fn option_paths_are_read_from_the_reasons_bundled_plugins_give() {
        assert_eq!(
            option_of("unknown option \"stsSecondz\" (known: \"stsSeconds\")"),
            Some((vec!["stsSecondz".to_string()], None))
        );
        assert_eq!(
            option_of("prefixes[1]: expected text, got a map"),
            Some((
                vec!["prefixes".to_string(), "1".to_string()],
                Some("expected text, got a map")
            ))
        );
        assert_eq!(
            option_of("ipStrategy.depth: expected a number"),
            Some((
                vec!["ipStrategy".to_string(), "depth".to_string()],
                Some("expected a number")
            ))
        );
        assert_eq!(
            option_of("config must be a map of options, got a list"),
            None
        );
        assert_eq!(option_of("bad regex: unclosed group"), None);
        assert_eq!(
            option_of("ipStrategy: unknown option \"dept\" (known: \"depth\")"),
            Some((
                vec!["ipStrategy".to_string(), "dept".to_string()],
                Some("unknown option \"dept\" (known: \"depth\")")
            ))
        );
    }
}
