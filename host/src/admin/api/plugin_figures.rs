//! The live part of `/api/plugins`: for a loaded plugin, each middleware running it with its
//! hook calls, failures by kind, p50/p99 hook duration (from the fixed-bucket histogram, so
//! within a bucket's width) and pool figures. Read from the plugin counters per API call.

use serde_json::{Map, Value, json};

/// `doc` with `middlewares: [{name, calls, failures, durationSeconds, instances}]` when
/// its plugin is loaded and figures are kept (metrics or API on).
pub(super) fn with_live_figures(doc: &Value) -> Value {
    let (Some(name), Some(hash)) = (doc["name"].as_str(), doc["hash"].as_str()) else {
        return doc.clone();
    };
    if doc["status"] != "loaded" {
        return doc.clone();
    }
    let figures: Vec<Value> = crate::admin::plugin_figures(name, hash)
        .iter()
        .map(|c| {
            let calls: Map<String, Value> = c.calls().map(|(h, n)| (h.to_string(), json!(n))).collect();
            let mut failures = Map::new();
            // By kind, both hooks together.
            for (_, kind, n) in c.failures() {
                let total = failures.get(kind).and_then(Value::as_u64).unwrap_or(0);
                failures.insert(kind.to_string(), json!(total + n));
            }
            let durations: Map<String, Value> = c
                .durations()
                .map(|(hook, h)| {
                    (
                        hook.to_string(),
                        json!({ "p50": h.quantile(0.5), "p99": h.quantile(0.99), "count": h.count() }),
                    )
                })
                .collect();
            let (live, idle) = c.instances();
            json!({
                "name": c.middleware,
                "calls": calls,
                "failures": failures,
                "durationSeconds": durations,
                "instances": { "live": live, "idle": idle, "created": c.instantiations() },
            })
        })
        .collect();
    let mut doc = doc.clone();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("middlewares".to_string(), Value::Array(figures));
    }
    doc
}
