//! Reads the main file and the provider files it names, then resolves and checks everything.
//!
//! Runs at start-up (and for `wasmgate check`): a few small file reads and one parse per file.

use std::fs;
use std::path::{Path, PathBuf};

use super::LoadedConfig;
use super::contribution::{Contribution, ContributionBody};
use super::resolve_dynamic::resolve_dynamic;
use super::resolve_providers::resolve_providers;
use super::resolve_static::{FileProvider, resolve_static};
use crate::yaml::error::{ConfigError, ConfigErrors, Diagnostics};
use crate::yaml::report::Reporter;
use crate::yaml::source::SourceMap;
use crate::yaml::tree::parse;

const FILENAME_KEY: &[&str] = &["providers", "file", "filename"];
const DIRECTORY_KEY: &[&str] = &["providers", "file", "directory"];

/// Loads the config at `path`: its static part, and the dynamic part (`http:`) merged from the
/// file itself and the files `providers.file.filename` / `providers.file.directory` name
/// (relative paths are relative to the directory of `path`).
///
/// # Errors
/// Every problem found, each as `file:line: key: reason`, in source order. A main file that
/// cannot be read or is not YAML stops the load at once; everything else is collected.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigErrors> {
    load_with(path, &[])
}

/// [`load`], with the dynamic configuration of the control-plane providers added after the
/// file provider's files (`contributions`, one per provider). Runs on every reload; costs one
/// parse per text contribution and a clone per tree contribution.
///
/// # Errors
/// As [`load`]; an error in a contribution names its origin in place of a file.
pub fn load_with(
    path: &Path,
    contributions: &[Contribution],
) -> Result<LoadedConfig, ConfigErrors> {
    let mut diagnostics = Diagnostics::default();
    let mut sources = SourceMap::default();
    if !read_source(&mut sources, &mut diagnostics, path.to_path_buf(), None) {
        return Err(diagnostics.into_sorted());
    }
    load_providers_and_resolve(path, sources, diagnostics, contributions)
}

/// [`load`] for `wasmgate check`, which reports every problem of a config in one run: the
/// config's errors, and the config as far as it resolved (every entity without an error of its
/// own) so that the later checks (rules, plugins' `validate-config`) can run on the rest. The
/// config is `None` only when the main file cannot be read or is not YAML.
pub fn load_for_check(path: &Path) -> (Option<LoadedConfig>, ConfigErrors) {
    let mut diagnostics = Diagnostics::default();
    let mut sources = SourceMap::default();
    if !read_source(&mut sources, &mut diagnostics, path.to_path_buf(), None) {
        return (None, diagnostics.into_sorted());
    }
    let (config, diagnostics) = resolve_all(path, sources, diagnostics, &[]);
    (Some(config), diagnostics.into_sorted())
}

/// [`load`] for a main file already in memory: `text` is parsed as the file `name` (the name
/// errors carry; relative provider and `usersFile` paths are relative to its directory). Only
/// the files the text names are read. Used by the fuzz targets and their corpus regression
/// test; costs the same as [`load`] minus one file read.
///
/// # Errors
/// As [`load`].
pub fn load_from_str(name: &str, text: &str) -> Result<LoadedConfig, ConfigErrors> {
    let mut diagnostics = Diagnostics::default();
    let mut sources = SourceMap::default();
    let path = Path::new(name);
    if !add_source(&mut sources, &mut diagnostics, path.to_path_buf(), text) {
        return Err(diagnostics.into_sorted());
    }
    load_providers_and_resolve(path, sources, diagnostics, &[])
}

/// The main file's `log` section alone, for the process's own log, which is set up before the
/// full [`load`] (`app::logging`): one file read and the static part's resolution, no provider
/// file and no dynamic part. Traefik's defaults when the main file cannot be read or its static
/// part has an error (the full load then reports it).
pub fn load_log_settings(path: &Path) -> super::LogConfig {
    let mut diagnostics = Diagnostics::default();
    let mut sources = SourceMap::default();
    if !read_source(&mut sources, &mut diagnostics, path.to_path_buf(), None) {
        return super::LogConfig::default();
    }
    let main_dir = path.parent().unwrap_or(Path::new(""));
    let mut reporter = Reporter {
        sources: &sources,
        diagnostics: &mut diagnostics,
    };
    let statics = resolve_static(&mut reporter, main_dir);
    match diagnostics.is_empty() {
        true => statics.config.log,
        false => super::LogConfig::default(),
    }
}

/// Everything [`load`] does once the main file (at `path`) is parsed into `sources`.
fn load_providers_and_resolve(
    path: &Path,
    sources: SourceMap,
    diagnostics: Diagnostics,
    contributions: &[Contribution],
) -> Result<LoadedConfig, ConfigErrors> {
    let (config, diagnostics) = resolve_all(path, sources, diagnostics, contributions);
    if diagnostics.is_empty() {
        Ok(config)
    } else {
        Err(diagnostics.into_sorted())
    }
}

/// Reads the provider files and resolves everything: the config as far as it resolved, and
/// every problem found.
fn resolve_all(
    path: &Path,
    mut sources: SourceMap,
    mut diagnostics: Diagnostics,
    contributions: &[Contribution],
) -> (LoadedConfig, Diagnostics) {
    let main_dir = path.parent().unwrap_or(Path::new(""));
    let mut reporter = Reporter {
        sources: &sources,
        diagnostics: &mut diagnostics,
    };
    let mut statics = resolve_static(&mut reporter, main_dir);
    let (http, redis, etcd) = std::mem::take(&mut statics.control_planes);
    statics.config.providers = resolve_providers(&mut reporter, http, redis, etcd);
    if let Some(raw) = statics.tracing.take() {
        statics.config.tracing = super::resolve_tracing::resolve_tracing(&mut reporter, raw);
    }
    let mut all_parsed = true;
    match &statics.provider {
        Some(FileProvider::File(file)) if !same_file(file, path) => {
            let file = file.clone();
            all_parsed &= read_source(&mut sources, &mut diagnostics, file, Some(FILENAME_KEY));
        }
        Some(FileProvider::Directory(dir)) => {
            let mut files = Vec::new();
            if let Err(error) = yaml_files_in(dir, &mut files) {
                let reason = format!("cannot read directory \"{}\": {error}", dir.display());
                let mut reporter = Reporter {
                    sources: &sources,
                    diagnostics: &mut diagnostics,
                };
                reporter.at(0, DIRECTORY_KEY, reason);
            }
            files.sort();
            for file in files.into_iter().filter(|f| !same_file(f, path)) {
                all_parsed &=
                    read_source(&mut sources, &mut diagnostics, file, Some(DIRECTORY_KEY));
            }
        }
        Some(FileProvider::File(_)) | None => {}
    }
    let file_count = sources.files().len();
    for contribution in contributions {
        all_parsed &= add_contribution(&mut sources, &mut diagnostics, contribution);
    }
    // With a provider file unreadable its names are unknown, and reference checks would only
    // add misleading "is not defined" errors, so they are skipped.
    let mut reporter = Reporter {
        sources: &sources,
        diagnostics: &mut diagnostics,
    };
    let dynamic = resolve_dynamic(&mut reporter, &statics, all_parsed);
    diagnostics.reword(super::not_yet::explain_unsupported);
    let config = LoadedConfig {
        static_config: statics.config,
        dynamic,
        sources,
        file_count,
    };
    (config, diagnostics)
}

/// Adds one provider's dynamic configuration to `sources`, as if it were a provider file
/// named by its origin, its names in the provider's namespace (`super::provider_scope`).
/// Returns whether it parsed.
fn add_contribution(
    sources: &mut SourceMap,
    diagnostics: &mut Diagnostics,
    contribution: &Contribution,
) -> bool {
    let origin = contribution.origin.clone();
    let parsed = match &contribution.body {
        ContributionBody::Text(text) => add_source(sources, diagnostics, origin, text),
        ContributionBody::Tree(tree) => {
            sources.add(origin, tree.as_ref().map(|t| t.0.clone()));
            true
        }
    };
    let last = sources.files().len().saturating_sub(1);
    if let Some(root) = sources.root_mut(last) {
        super::provider_scope::scope_to_provider(root, contribution.provider);
    }
    parsed
}

/// Reads and parses one file into `sources`. A read failure is reported at `origin` (the main
/// file's key that named this file) or, for the main file, at the file itself. Returns whether
/// the file parsed.
fn read_source(
    sources: &mut SourceMap,
    diagnostics: &mut Diagnostics,
    path: PathBuf,
    origin: Option<&[&str]>,
) -> bool {
    let text = match super::bounded_read::read_bounded(&path) {
        Ok(text) => text,
        Err(error) => {
            match origin {
                Some(key) => {
                    let reason = format!("cannot read \"{}\": {error}", path.display());
                    Reporter {
                        sources,
                        diagnostics,
                    }
                    .at(0, key, reason);
                }
                None => {
                    let reason = format!("cannot read the configuration: {error}");
                    diagnostics.push(
                        0,
                        ConfigError {
                            file: path,
                            line: None,
                            key: String::new(),
                            reason,
                        },
                    );
                }
            }
            return false;
        }
    };
    if origin.is_some() && traefik_template::has_actions(&text) {
        return add_template_source(sources, diagnostics, path, &text);
    }
    add_source(sources, diagnostics, path, &text)
}

/// A provider file that holds template actions: rendered as Traefik's file provider does (Go
/// template, sprig functions, `env` from the process environment), then parsed, with every line
/// the parse records pointing back at the template line it came from. A template error is
/// reported as `file:line: template: reason`. Returns whether the file rendered and parsed.
fn add_template_source(
    sources: &mut SourceMap,
    diagnostics: &mut Diagnostics,
    path: PathBuf,
    text: &str,
) -> bool {
    let rendered = match traefik_template::render(
        text,
        &traefik_template::ProcessEnvironment,
        traefik_template::Limits::default(),
    ) {
        Ok(rendered) => rendered,
        Err(error) => {
            let file = sources.add(path.clone(), None);
            diagnostics.push(
                file,
                ConfigError {
                    file: path,
                    line: Some(error.line),
                    key: String::new(),
                    reason: format!("template: {}", error.reason),
                },
            );
            return false;
        }
    };
    let map = |line: usize| rendered.source_line(line);
    add_parsed(sources, diagnostics, path, &rendered.text, Some(&map))
}

/// Parses `text`, the contents of `path`, into `sources`; reports a YAML error at its line.
/// Returns whether it parsed.
fn add_source(
    sources: &mut SourceMap,
    diagnostics: &mut Diagnostics,
    path: PathBuf,
    text: &str,
) -> bool {
    add_parsed(sources, diagnostics, path, text, None)
}

/// [`add_source`], with the lines of the parse passed through `line_map` when the text was
/// rendered from a template.
fn add_parsed(
    sources: &mut SourceMap,
    diagnostics: &mut Diagnostics,
    path: PathBuf,
    text: &str,
    line_map: Option<&dyn Fn(usize) -> usize>,
) -> bool {
    let parsed = parse(text);
    match parsed {
        Ok(mut tree) => {
            if let Some(map) = line_map {
                tree.remap_lines(map);
            }
            let file = sources.add(path, tree.root);
            let mut reporter = Reporter {
                sources,
                diagnostics,
            };
            for issue in tree.issues {
                reporter.tree_issue(file, issue);
            }
            true
        }
        Err(error) => {
            let file = sources.add(path.clone(), None);
            let reason = format!("invalid YAML: {}", error.reason);
            diagnostics.push(
                file,
                ConfigError {
                    file: path,
                    line: Some(line_map.map_or(error.line, |map| map(error.line))),
                    key: String::new(),
                    reason,
                },
            );
            false
        }
    }
}

/// Most YAML files a provider directory may hold (subdirectories included).
const MAX_PROVIDER_FILES: usize = 4096;

/// Every `*.yml` / `*.yaml` file under `dir`, subdirectories included (as Traefik does).
/// Symbolic links to directories are not followed (no loops), and a directory with more than
/// [`MAX_PROVIDER_FILES`] YAML files is an error (a mistaken `directory: /` ends quickly).
fn yaml_files_in(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            yaml_files_in(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yml" || ext == "yaml")
        {
            if out.len() >= MAX_PROVIDER_FILES {
                return Err(std::io::Error::other(format!(
                    "more than {MAX_PROVIDER_FILES} YAML files"
                )));
            }
            out.push(path);
        }
    }
    Ok(())
}

/// Whether two paths name the same file (so a provider directory holding the main file does
/// not load it twice).
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
