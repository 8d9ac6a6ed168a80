//! The `wasmgate` command line: parses arguments and starts things; nothing else.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo_upstream;
mod plugin_command;

#[derive(Parser)]
#[command(
    name = "wasmgate",
    version,
    about = "A gateway whose middlewares are sandboxed WebAssembly components"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve with the given config file.
    Run { config: PathBuf },
    /// Validate a config (and every plugin it uses) without serving; errors as `file:line: key: reason`.
    Check { config: PathBuf },
    /// List the plugins a config can use (bundled and from its plugin directory).
    Plugins { config: PathBuf },
    /// Plugin authors' tools: a new project, a conformance run, what a file is.
    Plugin {
        #[command(subcommand)]
        command: plugin_command::PluginCommand,
    },
    /// A tiny upstream for examples: answers every request with a JSON echo of what it received.
    DemoUpstream {
        #[arg(long, default_value = "127.0.0.1:9001")]
        listen: std::net::SocketAddr,
    },
}

/// Text lines to standard error at `default_level` (`RUST_LOG` wins), for the commands that
/// read no `log` section.
fn init_logging(default_level: &str) {
    let log = wasmgate::config::LogConfig {
        level: default_level.to_string(),
        ..Default::default()
    };
    wasmgate::app::logging::init(&log);
}

/// `WASMGATE_WORKER_THREADS`: a positive number, or `None` when unset or not one.
fn worker_threads() -> Option<usize> {
    std::env::var("WASMGATE_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
}

/// The tokio runtime every command runs on. With per-core workers (`app::per_core`, the
/// default when there are two or more: `WASMGATE_WORKER_THREADS`, else one per core) the
/// connections have threads of their own and this runtime only runs the control tasks: one
/// current thread. `WASMGATE_WORKER_MODEL=shared`: one runtime serves everything, a
/// multi-thread runtime with that many workers. One worker (`WASMGATE_WORKER_THREADS=1`): a
/// current-thread runtime does all the work, what the benchmark harness compares against
/// single-worker proxies.
fn async_runtime(model: wasmgate::app::WorkerModel) -> std::io::Result<tokio::runtime::Runtime> {
    let workers = match model {
        wasmgate::app::WorkerModel::PerCore(_) => Some(1),
        wasmgate::app::WorkerModel::Shared => worker_threads(),
    };
    match workers {
        Some(1) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let model = match wasmgate::app::WorkerModel::from_env(worker_threads()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("wasmgate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = match async_runtime(model) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Run { config } => {
            // Traefik's `log` section (level, format, file), read from the main file before the
            // first line is logged; the full load comes in `run_with`.
            let log_settings = wasmgate::config::load_log_settings(&config);
            let log_file = wasmgate::app::logging::init(&log_settings);
            let served = rt.block_on(async {
                if let Some(file) = log_file {
                    wasmgate::app::logging::reopen_on_sigusr1(file);
                }
                wasmgate::app::run_with(&config, model).await
            });
            match served {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("wasmgate: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Check { config } => {
            init_logging("warn");
            let _guard = rt.enter();
            match wasmgate::app::check::check(&config) {
                Ok(p) => {
                    println!(
                        "{}: OK ({} routers, {} services, {} middlewares)",
                        config.display(),
                        p.config.dynamic.http.routers.len(),
                        p.config.dynamic.http.services.len(),
                        p.config.dynamic.http.middlewares.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{e}");
                    }
                    ExitCode::FAILURE
                }
            }
        }
        Command::Plugins { config } => {
            init_logging("warn");
            let _guard = rt.enter();
            match wasmgate::app::prepare(&config) {
                Ok(p) => {
                    for f in p.registry.files() {
                        println!("{}\t{}\t{}", f.name, f.short_hash(), f.source);
                    }
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{e}");
                    }
                    ExitCode::FAILURE
                }
            }
        }
        Command::Plugin { command } => {
            init_logging("warn");
            let _guard = rt.enter();
            plugin_command::run(command)
        }
        Command::DemoUpstream { listen } => {
            init_logging("info");
            match rt.block_on(demo_upstream::serve(listen)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("wasmgate demo-upstream: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
