//! The check every config passes before a plugin parses it: how deep its JSON nests.
//!
//! The SDK's `validate-config` and `init` (and the native [`testing`](crate::testing) helpers)
//! parse through [`parse`], which runs [`check_nesting`] on the config text before
//! [`Middleware::from_config`](crate::Middleware) (or `ConnectionMiddleware`'s) sees it. JSON parsers recurse once per nested list or map (`serde_json` up to 128 levels), and
//! the bundled plugins run on a 16 KiB stack: a config nested deeper than any real one would
//! exhaust that stack and trap the plugin at config time. Refused here instead, as a config error
//! that names the depth. One pass over the bytes, no allocation; runs at config load and once per
//! instance.

/// The deepest nesting of lists and maps a config may have, the top-level map counted as the
/// first level. Traefik's options nest at most four or five levels deep.
pub const MAX_CONFIG_NESTING: usize = 32;

/// `from_config` of `config` once its nesting passed [`check_nesting`]: every SDK entry point that
/// parses a config goes through here, so no parser sees one nested too deep.
pub fn parse<T>(
    config: &str,
    from_config: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, String> {
    check_nesting(config)?;
    from_config(config)
}

/// Refuses a config whose lists and maps nest deeper than [`MAX_CONFIG_NESTING`]. Brackets
/// inside JSON strings are not counted; anything else (syntax errors included) is left to the
/// plugin's own parser.
pub fn check_nesting(config: &str) -> Result<(), String> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in config.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_CONFIG_NESTING {
                    return Err(format!(
                        "config nests lists and maps more than {MAX_CONFIG_NESTING} levels deep"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `levels` lists, one inside the other, in a one-option map (`levels + 1` levels in all).
    fn nested(levels: usize) -> String {
        format!(
            r#"{{"deep":{}1{}}}"#,
            "[".repeat(levels),
            "]".repeat(levels)
        )
    }

    #[test]
    fn a_config_nested_to_the_limit_passes() {
        assert_eq!(check_nesting(&nested(MAX_CONFIG_NESTING - 1)), Ok(()));
        assert_eq!(check_nesting(r#"{"a":{"b":[1,{"c":[]}]},"d":[]}"#), Ok(()));
        assert_eq!(check_nesting(""), Ok(()));
    }

    #[test]
    fn a_config_nested_past_the_limit_is_a_config_error_naming_the_depth() {
        let err = check_nesting(&nested(MAX_CONFIG_NESTING)).expect_err("one level too deep");
        assert!(err.contains("more than 32 levels deep"), "{err}");
        assert!(check_nesting(&nested(500)).is_err());
    }

    #[test]
    fn brackets_inside_strings_are_not_nesting() {
        let deep_text = format!(r#"{{"regex":"{}\"{}"}}"#, "[(".repeat(100), "{".repeat(100));
        assert_eq!(check_nesting(&deep_text), Ok(()));
        // An escaped backslash ends before the quote, which then closes the string.
        let after_escape = format!(r#"{{"a":"\\","b":{}1{}}}"#, "[".repeat(40), "]".repeat(40));
        assert!(check_nesting(&after_escape).is_err());
    }

    #[test]
    fn siblings_do_not_add_up() {
        let wide = format!("[{}]", vec!["[[[1]]]"; 1000].join(","));
        assert_eq!(check_nesting(&wide), Ok(()));
    }
}
