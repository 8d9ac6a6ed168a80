//! The `digestAuth` config: Traefik's option names, checked once at `validate-config` / `init`.

use std::collections::BTreeMap;

use plugin_sdk::rules::check_header_value;

pub use traefik_options::auth_options::DEFAULT_REALM;

/// The parsed config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestAuthConfig {
    /// `user:realm` -> HA1 (lower-case hex MD5 of `user:realm:password`), from htdigest lines.
    /// Only entries for [`DigestAuthConfig::realm`] can ever match, as in Traefik.
    pub users: BTreeMap<String, String>,
    /// `realm`, default `traefik`.
    pub realm: String,
    /// `removeHeader`: drop `Authorization` before the request goes upstream.
    pub remove_header: bool,
    /// `headerField`: header (lower-case) that carries the authenticated user upstream.
    pub header_field: Option<String>,
}

impl DigestAuthConfig {
    /// Parses the JSON config. `users` holds htdigest lines `user:realm:HA1`; the gateway puts
    /// the lines of `usersFile` first when it loads the config. Any other option is refused by
    /// name.
    pub fn parse(config: &str) -> Result<Self, String> {
        let options =
            traefik_options::auth_options::parse(config, "digestAuth", "user:realm:hash")?;
        Ok(DigestAuthConfig {
            users: users(options.users)?,
            realm: options.realm,
            remove_header: options.remove_header,
            header_field: options.header_field,
        })
    }

    /// The HA1 of `user` in this middleware's realm.
    pub fn ha1(&self, user: &str) -> Option<&str> {
        self.users
            .get(&format!("{user}:{}", self.realm))
            .map(String::as_str)
    }
}

fn users(entries: Vec<String>) -> Result<BTreeMap<String, String>, String> {
    let mut users = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let parts: Vec<&str> = entry.split(':').collect();
        let [user, realm, ha1] = parts[..] else {
            return Err(format!(
                "users[{i}]: must be \"user:realm:hash\" with exactly two ':' (an htdigest line)"
            ));
        };
        check_header_value(user.as_bytes())
            .map_err(|_| format!("users[{i}]: user name {user:?} has a control character"))?;
        if ha1.len() != 32 || !ha1.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "users[{i}] ({user}): the hash must be 32 hex digits (MD5 of user:realm:password, as htdigest writes it)"
            ));
        }
        users.insert(format!("{user}:{realm}"), ha1.to_ascii_lowercase());
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htdigest_lines_are_looked_up_in_the_middlewares_realm() {
        let config = DigestAuthConfig::parse(
            r#"{"users": ["carol:traefik:3F9220F5CCB299C92BF498B9B67930EC",
                          "carol:other:00000000000000000000000000000000"]}"#,
        )
        .unwrap();
        assert_eq!(
            config.ha1("carol"),
            Some("3f9220f5ccb299c92bf498b9b67930ec")
        );
        assert_eq!(config.ha1("dan"), None);
        let other = DigestAuthConfig::parse(
            r#"{"realm": "other", "users": ["carol:traefik:3f9220f5ccb299c92bf498b9b67930ec"]}"#,
        )
        .unwrap();
        assert_eq!(
            other.ha1("carol"),
            None,
            "an entry for another realm never matches"
        );
    }

    #[test]
    fn errors_name_the_option_and_entry() {
        let cases = [
            (r#"{"realms": "x"}"#, r#"unknown option "realms""#),
            (
                r#"{"users": ["carol:3f9220f5ccb299c92bf498b9b67930ec"]}"#,
                "users[0]: must be \"user:realm:hash\" with exactly two ':' (an htdigest line)",
            ),
            (
                r#"{"users": ["carol:traefik:nothex"]}"#,
                "users[0] (carol): the hash must be 32 hex digits (MD5 of user:realm:password, as htdigest writes it)",
            ),
            (
                r#"{"headerField": "a b"}"#,
                r#"headerField: invalid header name "a b""#,
            ),
            (
                r#"{"removeHeader": 1}"#,
                "removeHeader: must be a boolean, got a number",
            ),
        ];
        for (config, expected) in cases {
            assert_eq!(
                DigestAuthConfig::parse(config),
                Err(expected.to_string()),
                "{config}"
            );
        }
    }
}
