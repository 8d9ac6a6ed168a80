//! A deadline that lets a `basicAuth` middleware finish a cold bcrypt verification.
//!
//! bcrypt is slow on purpose: 2^cost rounds. Measured in the guest (wasmtime 48, 2-core VM): cost
//! 5 (htpasswd's default) about 3 ms, cost 10 85-160 ms, cost 12 350-650 ms (idle to busy
//! machine). The default 50 ms deadline would fail every first login (500) from cost 10 up, so a
//! `basicAuth` whose users include bcrypt hashes gets a deadline of eight times the idle
//! verification time of its costliest hash, when that is longer than `plugins.defaults.deadline`. Warm requests are
//! served from the plugin's verification cache and stay in the microseconds. Runs at config load.

use std::time::Duration;

use serde_json::Value;

use super::duration::DurationValue;
use super::model_static::PluginRuntimeConfig;
use super::raw::RawRuntime;

/// Guest time per bcrypt round (2^cost rounds per verification), measured.
const BCRYPT_ROUND: Duration = Duration::from_micros(85);
/// Headroom for a loaded machine (verifications were measured twice as slow under load).
const SAFETY: u32 = 8;

/// The runtime overrides a Traefik `type_key` middleware with `config` (its JSON, `usersFile`
/// already inlined) needs on top of `defaults`: none, except a longer deadline for a
/// `basicAuth` with costly bcrypt hashes.
pub(crate) fn auth_runtime(
    type_key: &str,
    config: &Value,
    defaults: &PluginRuntimeConfig,
) -> RawRuntime {
    let none = RawRuntime::default();
    if type_key != "basicAuth" {
        return none;
    }
    let Some(Value::Array(users)) = config.get("users") else {
        return none;
    };
    let Some(cost) = users
        .iter()
        .filter_map(Value::as_str)
        .filter_map(bcrypt_cost)
        .max()
    else {
        return none;
    };
    let needed = BCRYPT_ROUND
        .saturating_mul(1u32 << cost.min(31))
        .saturating_mul(SAFETY);
    if needed <= defaults.deadline {
        return none;
    }
    RawRuntime {
        deadline: Some(DurationValue(needed)),
        ..RawRuntime::default()
    }
}

/// The cost of a `name:$2y$NN$...` entry, if it is a bcrypt one.
fn bcrypt_cost(entry: &str) -> Option<u32> {
    let (_, hash) = entry.split_once(':')?;
    let rest = hash.strip_prefix("$2")?;
    let (_variant, rest) = rest.split_at_checked(1)?;
    let cost = rest.strip_prefix('$')?.get(..2)?;
    cost.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadline(type_key: &str, users: &[&str]) -> Option<Duration> {
        let config = serde_json::json!({ "users": users });
        auth_runtime(type_key, &config, &PluginRuntimeConfig::default())
            .deadline
            .map(|d| d.0)
    }

    #[test]
    fn costly_bcrypt_hashes_get_eight_times_their_verification_time() {
        let cost10 = "carol:$2y$10$tlIVvW/lSYxrd58wvZFF/.BkkH0//bw6PRl5tzBPZjKLEgatFqPNy";
        let cost12 = "gina:$2y$12$sCNd1MvzihHtx8Y/ECyK2.2E9ZbWq4bCqweU9shNLIsxcuicGuwCa";
        assert_eq!(
            deadline("basicAuth", &[cost10]),
            Some(Duration::from_micros(85 * 1024 * 8))
        );
        assert_eq!(
            deadline("basicAuth", &[cost10, cost12]),
            Some(Duration::from_micros(85 * 4096 * 8)),
            "the costliest hash decides"
        );
    }

    #[test]
    fn cheap_or_no_bcrypt_keeps_the_default() {
        let cost5 = "alice:$2y$05$ZzeWa.HILIuIrOcdETjZDeZVplQrJ.Edims7tOZWEAd4k577gXn7e";
        assert_eq!(deadline("basicAuth", &[cost5]), None);
        assert_eq!(
            deadline("basicAuth", &["bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1"]),
            None
        );
        let cost12 = "gina:$2y$12$sCNd1MvzihHtx8Y/ECyK2.2E9ZbWq4bCqweU9shNLIsxcuicGuwCa";
        assert_eq!(deadline("digestAuth", &[cost12]), None);
        assert_eq!(
            auth_runtime(
                "basicAuth",
                &serde_json::json!({"users": [cost12]}),
                &PluginRuntimeConfig {
                    deadline: Duration::from_secs(10),
                    ..PluginRuntimeConfig::default()
                },
            )
            .deadline,
            None,
            "a longer configured deadline stays"
        );
    }
}
