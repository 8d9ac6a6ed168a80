//! `wasmgate plugin new|test|inspect`: argument parsing and printing only; the work is in
//! `wasmgate::app::plugin_tool`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use wasmgate::app::plugin_tool::{battery, conformance, inspect, scaffold};
use wasmgate::plugins::Isolation;

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Write a ready plugin project (an API-key guard to start from) into ./NAME.
    New {
        name: String,
        /// rust, js, python, c or go.
        #[arg(long)]
        lang: String,
        /// Rust only: the plugin-sdk directory to depend on (default: the SDK of the source
        /// tree this gateway was built from).
        #[arg(long)]
        sdk_path: Option<PathBuf>,
    },
    /// Run the gateway's checks on a plugin file: load, validate-config with the given and with
    /// garbage configs, a battery of requests through both hooks, per-call cost. Exits non-zero
    /// naming every failed check.
    Test {
        file: PathBuf,
        /// The middleware config (JSON).
        #[arg(long, default_value = "{}")]
        config: String,
        /// Run the battery in one isolation mode only (default: both).
        #[arg(long, value_parser = ["pooled", "per-request"])]
        isolation: Option<String>,
        /// Deadline per hook call (default: the gateway's, 50ms), e.g. 2s for a debug build.
        #[arg(long)]
        deadline: Option<String>,
        /// A header every request of the battery carries, NAME:VALUE (repeatable).
        #[arg(long = "header")]
        headers: Vec<String>,
    },
    /// What a plugin file is: world, imports, exports, size, memory, content hash.
    Inspect { file: PathBuf },
}

pub fn run(command: PluginCommand) -> ExitCode {
    match command {
        PluginCommand::New {
            name,
            lang,
            sdk_path,
        } => new(&name, &lang, sdk_path),
        PluginCommand::Test {
            file,
            config,
            isolation,
            deadline,
            headers,
        } => test(file, config, isolation, deadline, headers),
        PluginCommand::Inspect { file } => match inspect::inspect(&file) {
            Ok(report) => {
                let _ = write!(std::io::stdout(), "{report}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("wasmgate plugin inspect: {}: {e}", file.display());
                ExitCode::FAILURE
            }
        },
    }
}

fn new(name: &str, lang: &str, sdk_path: Option<PathBuf>) -> ExitCode {
    let lang = match scaffold::Lang::parse(lang) {
        Ok(lang) => lang,
        Err(e) => {
            eprintln!("wasmgate plugin new: {e}");
            return ExitCode::from(2);
        }
    };
    match scaffold::create(std::path::Path::new("."), name, lang, sdk_path.as_deref()) {
        Ok(s) => {
            let _ = writeln!(
                std::io::stdout(),
                "created {name}/: {}\nbuild: {}\nwasm: {}\ntest: {}",
                s.files.join(", "),
                s.build,
                s.wasm.display(),
                s.test
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wasmgate plugin new: {e}");
            ExitCode::FAILURE
        }
    }
}

fn test(
    file: PathBuf,
    config: String,
    isolation: Option<String>,
    deadline: Option<String>,
    headers: Vec<String>,
) -> ExitCode {
    let usage = |e: String| {
        eprintln!("wasmgate plugin test: {e}");
        ExitCode::from(2)
    };
    let modes = match isolation.as_deref() {
        Some("pooled") => vec![Isolation::Pooled],
        Some(_) => vec![Isolation::PerRequest],
        None => vec![Isolation::Pooled, Isolation::PerRequest],
    };
    let deadline = match deadline
        .map(|d| wasmgate::config::duration::parse_duration(&d))
        .transpose()
    {
        Ok(d) => d,
        Err(e) => return usage(format!("--deadline: {e}")),
    };
    let headers = match headers
        .iter()
        .map(|h| battery::parse_extra_header(h))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(h) => h,
        Err(e) => return usage(e),
    };
    let opts = conformance::TestOptions {
        config,
        modes,
        deadline,
        headers,
    };
    match conformance::run(&file, &opts, &mut std::io::stdout()) {
        Ok(failures) if failures.is_empty() => {
            let _ = writeln!(std::io::stdout(), "PASS {}", file.display());
            ExitCode::SUCCESS
        }
        Ok(failures) => {
            let mut checks: Vec<&str> = failures.iter().map(|f| f.check).collect();
            let mut seen = std::collections::HashSet::new();
            checks.retain(|c| seen.insert(*c));
            eprintln!(
                "wasmgate plugin test: {} FAILED check(s): {}",
                file.display(),
                checks.join(", ")
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("wasmgate plugin test: {}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}
