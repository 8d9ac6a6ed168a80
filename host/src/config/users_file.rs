//! `usersFile` of Traefik's `basicAuth` and `digestAuth`: plugins have no filesystem, so the
//! gateway reads the file when it loads the config and hands its lines to the plugin.
//!
//! For those two middleware types, a non-empty `usersFile` is read (a relative path is relative
//! to the directory of the config file that names it), its lines are trimmed, blank lines and
//! `#` comments dropped, and the rest put *before* the inline `users` entries (Traefik's order:
//! an inline entry wins over a file line for the same user); `usersFile` itself is removed from
//! the JSON the plugin gets. A file that cannot be read (or is not a regular file of at most
//! 16 MiB) is a config error at `usersFile`.
//!
//! Runs at config load (and reload), one small file read per middleware that sets it; the file
//! is not watched, so a change to it takes effect at the next config (re)load.

use std::path::Path;

use serde_json::Value;

use crate::yaml::report::Reporter;

/// The middleware types whose `usersFile` is read.
const TYPES: [&str; 2] = ["basicAuth", "digestAuth"];
const USERS_FILE: &str = "usersFile";
const USERS: &str = "users";

/// Inlines `usersFile` into `config`, the JSON of the middleware whose type key ends
/// `entry_path` (`["http", "middlewares", name, type]`) in file `file`. `None` after reporting
/// a file that cannot be read or a `usersFile` that is not text.
pub(crate) fn inline_users_file(
    reporter: &mut Reporter<'_>,
    file: usize,
    entry_path: &[&str],
    config: &mut Value,
) -> Option<()> {
    if !entry_path.last().is_some_and(|t| TYPES.contains(t)) {
        return Some(());
    }
    // Anything but a map is the plugin's to refuse, with its own message.
    let Value::Object(options) = config else {
        return Some(());
    };
    let key = [entry_path, &[USERS_FILE]].concat();
    let name = match options.remove(USERS_FILE) {
        None | Some(Value::Null) => return Some(()),
        Some(Value::String(name)) => name,
        Some(_) => {
            reporter.at(file, &key, "must be a file path (text)");
            return None;
        }
    };
    if name.is_empty() {
        return Some(());
    }
    let base = reporter
        .sources
        .path(file)
        .parent()
        .unwrap_or(Path::new(""));
    let path = base.join(&name);
    let text = match super::bounded_read::read_bounded(&path) {
        Ok(text) => text,
        Err(error) => {
            let reason = format!("cannot read \"{}\": {error}", path.display());
            reporter.at(file, &key, reason);
            return None;
        }
    };
    let mut users: Vec<Value> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| Value::String(line.to_string()))
        .collect();
    match options.remove(USERS) {
        Some(Value::Array(inline)) => users.extend(inline),
        None | Some(Value::Null) => {}
        // Not a list: leave it for the plugin to refuse, file lines dropped with it.
        Some(other) => {
            options.insert(USERS.to_string(), other);
            return Some(());
        }
    }
    options.insert(USERS.to_string(), Value::Array(users));
    Some(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::load;

    fn gateway(dir: &Path, auth: &str) -> std::path::PathBuf {
        let yaml = format!(
            "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\nhttp:\n  middlewares:\n    auth:\n{auth}"
        );
        let path = dir.join("gateway.yml");
        std::fs::write(&path, yaml).unwrap();
        path
    }

    fn users_of(config: &crate::config::LoadedConfig) -> serde_json::Value {
        let json: serde_json::Value =
            serde_json::from_str(&config.dynamic.http.middlewares["auth"].config_json).unwrap();
        json
    }

    #[test]
    fn the_file_is_read_relative_to_the_config_and_put_before_inline_users() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("auth")).unwrap();
        std::fs::write(
            dir.path().join("auth/users"),
            "# staff\n  bob:hash-b  \n\r\nalice:hash-a\r\n",
        )
        .unwrap();
        let path = gateway(
            dir.path(),
            "      basicAuth:\n        usersFile: auth/users\n        users: [\"carol:hash-c\"]\n        realm: R\n",
        );
        let config = load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            users_of(&config),
            serde_json::json!({"users": ["bob:hash-b", "alice:hash-a", "carol:hash-c"], "realm": "R"})
        );
    }

    #[test]
    fn digest_auth_reads_it_too_and_an_empty_name_means_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("digest");
        std::fs::write(&file, "carol:traefik:3f9220f5ccb299c92bf498b9b67930ec\n").unwrap();
        let path = gateway(
            dir.path(),
            &format!("      digestAuth:\n        usersFile: {}\n", file.display()),
        );
        let config = load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            users_of(&config),
            serde_json::json!({"users": ["carol:traefik:3f9220f5ccb299c92bf498b9b67930ec"]})
        );
        let path = gateway(dir.path(), "      basicAuth:\n        usersFile: \"\"\n");
        let config = load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(users_of(&config), serde_json::json!({}));
    }

    #[test]
    fn an_unreadable_file_is_a_located_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = gateway(
            dir.path(),
            "      basicAuth:\n        usersFile: missing.htpasswd\n",
        );
        let errors = load(&path).unwrap_err().to_string();
        assert!(
            errors
                .contains("gateway.yml:8: http.middlewares.auth.basicAuth.usersFile: cannot read"),
            "{errors}"
        );
        assert!(errors.contains("missing.htpasswd"), "{errors}");
        let path = gateway(dir.path(), "      basicAuth:\n        usersFile: \".\"\n");
        let errors = load(&path).unwrap_err().to_string();
        assert!(errors.contains("not a regular file"), "{errors}");
        let path = gateway(dir.path(), "      basicAuth:\n        usersFile: [a]\n");
        let errors = load(&path).unwrap_err().to_string();
        assert!(
            errors.contains("http.middlewares.auth.basicAuth.usersFile: must be a file path"),
            "{errors}"
        );
    }
}
