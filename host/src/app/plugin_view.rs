//! wasmgate's `/api/plugins` documents: every plugin the registry holds (bundled or from the
//! plugin directory) with its content hash, size, world and the middlewares that use it
//! (`loaded`: compiled for a middleware; `unused`: read but not compiled, as nothing uses it),
//! then every plugin file the registry refused and why (a new version of a plugin in use that
//! failed to compile or load; the last good version stays). Built with each snapshot.
//! `fixedEdits` lists the middlewares among `usedBy` whose plugin declared its hooks' work as
//! fixed header edits (`fixed-edits`): the gateway applies those natively, so their hook-call
//! counters stay 0. `preTakes` lists those whose plugin declared its `on-request`'s take
//! (`pre-take`) and whose take the gateway makes natively: their hook-call counters count only
//! the refused requests. `verdictMemos` lists those whose plugin declared its `on-request`
//! verdict a function of one header (`verdict-memo`) and whose memo the gateway keeps: their
//! hook-call counters count only the requests whose header value had no live entry.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::config::LoadedConfig;
use crate::plugins::PluginRegistry;

pub fn plugin_documents(
    config: &LoadedConfig,
    registry: &PluginRegistry,
    fixed_edits: &BTreeSet<&str>,
    pre_takes: &BTreeSet<&str>,
    verdict_memos: &BTreeSet<&str>,
) -> Vec<Value> {
    let mut users: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut fixed: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut taking: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut memoizing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (name, middleware) in &config.dynamic.http.middlewares {
        if !middleware.plugin.is_empty() {
            let plugin = middleware.plugin.as_str();
            for (map, listed) in [
                (&mut users, true),
                (&mut fixed, fixed_edits.contains(name.as_str())),
                (&mut taking, pre_takes.contains(name.as_str())),
                (&mut memoizing, verdict_memos.contains(name.as_str())),
            ] {
                if listed {
                    map.entry(plugin).or_default().push(format!("{name}@file"));
                }
            }
        }
    }
    let mut files: Vec<_> = registry.files().collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out: Vec<Value> = files
        .into_iter()
        .map(|file| {
            let used_by = users.get(file.name.as_str()).cloned().unwrap_or_default();
            let fixed_edits = fixed.get(file.name.as_str()).cloned().unwrap_or_default();
            let pre_takes = taking.get(file.name.as_str()).cloned().unwrap_or_default();
            let verdict_memos = memoizing
                .get(file.name.as_str())
                .cloned()
                .unwrap_or_default();
            // Only plugins a middleware uses are compiled (already, for this snapshot); the
            // others are not compiled just to be listed.
            let world = if used_by.is_empty() {
                Value::Null
            } else {
                match registry.compiled(&file.name) {
                    Ok(Some(compiled)) => json!(compiled.world().name()),
                    _ => Value::Null,
                }
            };
            json!({
                "name": file.name,
                "source": file.source.to_string(),
                "hash": file.hash,
                "size": file.bytes.len(),
                "world": world,
                "status": if used_by.is_empty() { "unused" } else { "loaded" },
                "usedBy": used_by,
                "fixedEdits": fixed_edits,
                "preTakes": pre_takes,
                "verdictMemos": verdict_memos,
            })
        })
        .collect();
    for rejected in registry.rejected() {
        out.push(json!({
            "name": rejected.name,
            "source": rejected.path.display().to_string(),
            "hash": rejected.hash,
            "status": "refused",
            "reason": rejected.reason,
            "at": crate::admin::rfc3339_utc(rejected.at),
        }));
    }
    out
}
