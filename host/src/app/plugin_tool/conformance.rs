//! `wasmgate plugin test FILE`: a conformance run any plugin author can use.
//!
//! Loads the file with the gateway's engine, linker and default budgets (`inspect::load`), then
//! runs the checks the gateway itself runs, through the same code: `PluginMiddleware::configure`
//! (the probe instance, the fitted memory cap, `validate-config`), and `on_request` /
//! `on_response` of a configured middleware, whose results pass the host's checks (edits in
//! `plugins::head_edits`, replies in `plugins::reply`; a refused output is a
//! `PluginError::InvalidOutput`). Nothing here re-states a rule: a failure is what the gateway
//! would do to a live request, named by the check it failed.
//!
//! Checks, in order: `load`, `validate-config` (the given config is accepted), `garbage-config`
//! (configs that are not JSON are rejected, never trapped on), then the battery (`battery`) in
//! each isolation mode, where a failing hook is named by its kind: `deadline`, `memory-cap`,
//! `trap`, `output`, `init`, `instantiate`. Per-call cost is measured after the battery
//! (informative only; never a failure).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue};

use crate::plugins::body::{BodyGrant, BodyLimit, OverLimit};
use crate::plugins::middleware::HookDecision;
use crate::plugins::{
    BodyStart, CompiledPlugin, ConfigureError, Isolation, MiddlewareBudget, PluginError,
    PluginMiddleware, PluginRegistry,
};

use super::battery::{Case, battery};
use super::inspect::{ToolError, component_names, human_bytes, identity, initial_memory, load};

/// What `plugin test` was asked to do.
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// The middleware config handed to `validate-config` and `init` (JSON text).
    pub config: String,
    /// Isolation modes to run the battery in.
    pub modes: Vec<Isolation>,
    /// Deadline per hook call; the gateway's default (50 ms) when `None`.
    pub deadline: Option<Duration>,
    /// Headers added to every request of the battery (`--header`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub check: &'static str,
    pub detail: String,
}

/// Configs that are not JSON at all: every plugin must reject them (a plugin may accept any
/// JSON it likes, but must not trap on bytes it cannot parse). The nesting case tries the
/// parser's recursion.
fn garbage_configs() -> Vec<String> {
    vec![
        "not json".into(),
        "{".into(),
        "{\"a\":".into(),
        "[1, 2".into(),
        "\u{0}\u{1}\u{7f}".into(),
        "[".repeat(20_000),
    ]
}

/// Check name of a failed hook call.
fn check_of(err: &PluginError) -> &'static str {
    match err {
        PluginError::Timeout(_) => "deadline",
        PluginError::MemoryExhausted(_) => "memory-cap",
        PluginError::Trap(_) => "trap",
        PluginError::InvalidOutput(_) => "output",
        PluginError::Instantiate(_) => "instantiate",
        PluginError::Init(_) => "init",
        // `plugin test` grants in-process counters only; a Redis backend is never reached.
        PluginError::Counters(_) => "counters",
    }
}

fn mode_name(mode: Isolation) -> &'static str {
    match mode {
        Isolation::Pooled => "pooled",
        Isolation::PerRequest => "per-request",
    }
}

/// The budget a middleware of this plugin gets by default, with every capability it imports
/// granted (outbound-http excepted: its `send` is refused, as for a grant that allows nothing).
fn budget_for(plugin: &CompiledPlugin, opts: &TestOptions, mode: Isolation) -> MiddlewareBudget {
    let mut budget = MiddlewareBudget {
        isolation: mode,
        ..MiddlewareBudget::default()
    };
    if let Some(deadline) = opts.deadline {
        budget.deadline = deadline;
    }
    if plugin.imports_counters() {
        budget.counters = Some(crate::plugins::counters::scope_for("plugin-test"));
    }
    if plugin.imports_body() {
        let limit = BodyLimit {
            max_bytes: usize::try_from(crate::config::DEFAULT_BODY_GRANT_BYTES)
                .unwrap_or(usize::MAX),
            over_limit: OverLimit::Reject,
        };
        budget.body = Some(BodyGrant {
            request: Some(limit),
            response: Some(limit),
        });
    }
    budget.compression = plugin.imports_compression();
    budget.grpc_web = plugin.imports_grpc_web();
    if plugin.imports_kv() {
        budget.kv = Some(crate::plugins::kv::kv_scope_for("plugin-test"));
    }
    budget
}

/// Runs every check on the file at `path`, writing the report to `out`. Returns the failures
/// (empty: the plugin passed). `Err` only when the run itself cannot start (engine, unreadable
/// file).
pub fn run(
    path: &Path,
    opts: &TestOptions,
    out: &mut dyn Write,
) -> Result<Vec<Failure>, ToolError> {
    let (registry, name) = load(path)?;
    let mut failures = Vec::new();
    let Some(file) = registry.file(&name).cloned() else {
        return Err(ToolError::Usage(format!("{} not loaded", path.display())));
    };
    let _ = writeln!(
        out,
        "plugin:         {} ({})",
        path.display(),
        file.short_hash()
    );
    let _ = writeln!(
        out,
        "size:           {} bytes ({})",
        file.bytes.len(),
        human_bytes(file.bytes.len() as u64)
    );
    match registry.http_wasm_module(&name) {
        Ok(Some(module)) => return Ok(run_http_wasm(&registry, &name, module, opts, out)),
        Ok(None) => {}
        Err(e) => {
            failures.push(fail(out, "load", e.to_string()));
            return Ok(failures);
        }
    }
    let plugin = match registry.compiled(&name) {
        Ok(Some(p)) => p,
        Ok(None) => return Err(ToolError::Usage(format!("{} not loaded", path.display()))),
        Err(e) => {
            failures.push(fail(out, "load", e.to_string()));
            return Ok(failures);
        }
    };
    let (imports, exports) = component_names(&plugin);
    let _ = writeln!(
        out,
        "world:          {}",
        super::inspect::world_of(&imports, &exports)
    );
    let _ = writeln!(out, "imports:        {}", imports.join(", "));
    match initial_memory(registry.engine(), &plugin, opts.deadline) {
        Ok((initial, budget)) => {
            let _ = writeln!(
                out,
                "initial memory: {} (memory cap {} unless memoryLimit is set)",
                human_bytes(initial),
                human_bytes(budget.memory_limit)
            );
        }
        Err(e) => failures.push(fail(out, "instantiate", e.to_string())),
    }
    ok(out, "load", "compiled and linked against the contract");

    let engine = registry.engine().clone();
    let first_mode = opts.modes.first().copied().unwrap_or(Isolation::Pooled);
    let configure = |config: &str, mode: Isolation| {
        PluginMiddleware::configure(
            engine.clone(),
            "plugin-test",
            plugin.clone(),
            config,
            budget_for(&plugin, opts, mode),
        )
    };

    let configured = match configure(&opts.config, first_mode) {
        Ok(mw) => {
            ok(out, "validate-config", &format!("accepted {}", opts.config));
            Some(mw)
        }
        Err(e) => {
            failures.push(fail(out, "validate-config", e.to_string()));
            None
        }
    };
    let mut accepted = Vec::new();
    let mut garbage_failed = false;
    for garbage in garbage_configs() {
        let shown: String = garbage.chars().take(24).collect();
        match configure(&garbage, first_mode) {
            Err(ConfigureError::Rejected { .. }) => {}
            Ok(_) => accepted.push(format!("{shown:?}")),
            Err(e @ ConfigureError::InvalidDeclaration { .. }) => {
                failures.push(fail(out, "garbage-config", e.to_string()));
            }
            Err(ConfigureError::Failed { source, .. }) => {
                garbage_failed = true;
                failures.push(fail(
                    out,
                    "garbage-config",
                    format!("failed instead of returning an error on {shown:?}: {source}"),
                ));
            }
        }
    }
    if !accepted.is_empty() {
        failures.push(fail(
            out,
            "garbage-config",
            format!(
                "accepted configs that are not JSON ({}); validate-config must return an error",
                accepted.join(", ")
            ),
        ));
    } else if !garbage_failed {
        ok(
            out,
            "garbage-config",
            "every non-JSON config rejected with an error",
        );
    }
    let Some(first) = configured else {
        let _ = writeln!(out, "hooks not run: the given config was not accepted");
        return Ok(failures);
    };
    if !plugin.world().is_http() {
        let (results, cost) = super::connection_check::drive(&first);
        for result in results {
            match result {
                Ok(what) => ok(out, "on-connect", &what),
                Err(why) => failures.push(fail(out, "on-connect", why)),
            }
        }
        if let Some(cost) = cost {
            let _ = writeln!(out, "{cost}");
        }
        return Ok(failures);
    }

    let cases = battery();
    for &mode in &opts.modes {
        let mw = if mode == first_mode {
            None
        } else {
            match configure(&opts.config, mode) {
                Ok(mw) => Some(mw),
                Err(e) => {
                    failures.push(fail(out, "validate-config", e.to_string()));
                    continue;
                }
            }
        };
        let mw = mw.as_ref().unwrap_or(&first);
        drive(mw, mode, &cases, opts, out, &mut failures);
    }
    Ok(failures)
}

/// The battery and the cost measurement for an http-wasm guest (no `validate-config` in its
/// ABI: its config reaches it through `get_config`, and a refusal is a failed start).
fn run_http_wasm(
    registry: &PluginRegistry,
    name: &str,
    module: Arc<crate::plugins::http_wasm::HttpWasmModule>,
    opts: &TestOptions,
    out: &mut dyn Write,
) -> Vec<Failure> {
    let mut failures = Vec::new();
    let _ = writeln!(
        out,
        "world:          http-wasm (a Traefik Wasm plugin: core module importing http_handler)"
    );
    ok(out, "load", "compiled and linked against the http-wasm ABI");
    let _ = writeln!(
        out,
        "skip garbage-config: http-wasm has no validate-config (config is read with get_config)"
    );
    let hash = registry
        .file(name)
        .map(|f| f.hash.clone())
        .unwrap_or_default();
    let cases = battery();
    for &mode in &opts.modes {
        let mut budget = MiddlewareBudget {
            isolation: mode,
            ..MiddlewareBudget::default()
        };
        if let Some(deadline) = opts.deadline {
            budget.deadline = deadline;
        }
        match PluginMiddleware::http_wasm(
            registry.engine().clone(),
            identity(name, &hash),
            module.clone(),
            &opts.config,
            budget,
        ) {
            Ok(mw) => drive(&mw, mode, &cases, opts, out, &mut failures),
            Err(e) => failures.push(fail(out, "init", e.to_string())),
        }
    }
    failures
}

/// Runs the battery through one configured middleware, then measures a plain request's cost.
fn drive(
    mw: &PluginMiddleware,
    mode: Isolation,
    cases: &[Case],
    opts: &TestOptions,
    out: &mut dyn Write,
    failures: &mut Vec<Failure>,
) {
    let mode = mode_name(mode);
    let _ = writeln!(out, "hooks ({mode}):");
    let before = failures.len();
    for case in cases {
        let Some(head) = case.request_head(&opts.headers) else {
            continue;
        };
        let mut slot = None;
        let (head, result) = mw.on_request(head, &mut slot);
        let outcome = match result {
            Err(e) => {
                failures.push(fail(
                    out,
                    check_of(&e),
                    format!("{mode}, on-request, {:?}: {e}", case.name),
                ));
                continue;
            }
            Ok(HookDecision::Respond(reply)) => format!("reply {}", reply.status),
            Ok(HookDecision::Continue) if !mw.capabilities().response_hook => "continue".into(),
            Ok(HookDecision::Continue) => {
                let Some(resp) = case.response_head() else {
                    continue;
                };
                let body = BodyStart {
                    bytes: case.body(),
                    complete: true,
                };
                let (_, _, result) = mw.on_response(head, resp, &mut slot, body);
                match result {
                    Err(e) => {
                        failures.push(fail(
                            out,
                            check_of(&e),
                            format!("{mode}, on-response, {:?}: {e}", case.name),
                        ));
                        continue;
                    }
                    Ok(HookDecision::Respond(reply)) => {
                        format!("continue, response hook: reply {}", reply.status)
                    }
                    Ok(HookDecision::Continue) => "continue, response hook: continue".into(),
                }
            }
        };
        let _ = writeln!(out, "  ok   {:<36} {outcome}", case.name);
    }
    if failures.len() == before {
        measure(mw, mode, &cases[0], opts, out);
    }
}

/// Calls timed per mode: enough for a p99, bounded in time for slow (per-request Python) guests.
const COST_CALLS: usize = 300;
const COST_TIME: Duration = Duration::from_secs(2);

/// Median and p99 of `on-request` on a plain request (pooled: a warm instance; per-request: a
/// fresh instance and `init` each time, as the gateway pays). Informative only.
fn measure(
    mw: &PluginMiddleware,
    mode: &str,
    case: &Case,
    opts: &TestOptions,
    out: &mut dyn Write,
) {
    let mut samples = Vec::with_capacity(COST_CALLS);
    let started = Instant::now();
    // One call first so pooled mode measures a warm instance.
    for i in 0..=COST_CALLS {
        let Some(head) = case.request_head(&opts.headers) else {
            return;
        };
        let mut slot = None;
        let t = Instant::now();
        let (_, result) = mw.on_request(head, &mut slot);
        let spent = t.elapsed();
        drop(slot);
        if result.is_err() {
            return;
        }
        if i > 0 {
            samples.push(spent);
        }
        if started.elapsed() > COST_TIME && samples.len() >= 10 {
            break;
        }
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let _ = writeln!(
        out,
        "cost ({mode}): on-request median {:.1} µs, p99 {:.1} µs over {} calls (informative)",
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        samples.len()
    );
}

fn ok(out: &mut dyn Write, check: &str, what: &str) {
    let _ = writeln!(out, "ok   {check}: {what}");
}

/// Records a failure; the report shows its first and last lines (a trap's wasm backtrace sits
/// between them, its cause at the end; all of it stays in the returned detail).
fn fail(out: &mut dyn Write, check: &'static str, detail: String) -> Failure {
    let first = detail.lines().next().unwrap_or("");
    let last = detail.lines().last().unwrap_or("").trim();
    if last == first.trim() {
        let _ = writeln!(out, "FAIL {check}: {first}");
    } else {
        let _ = writeln!(out, "FAIL {check}: {first} ... {last}");
    }
    Failure { check, detail }
}
