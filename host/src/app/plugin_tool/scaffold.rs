//! `wasmgate plugin new NAME --lang L`: a ready plugin project that builds with one command into
//! a component the gateway loads, anywhere on disk.
//!
//! Every file comes from the binary: templates in `host/templates/` (one file per concern) and
//! the guard examples themselves (`examples/*-plugin`, the contract `wit/plugin.wit`), included
//! with `include_str!`, so a scaffold is always the example the test suite runs. `{{name}}`,
//! `{{crate}}`, `{{wasm}}` and `{{sdk_path}}` are filled in. The Rust project carries its own
//! SDK dependency, release profile and `.cargo/config.toml` (the guest stack size), so it does
//! not depend on this repository's workspace settings.

use std::path::{Path, PathBuf};

/// A language `plugin new` can write a project for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Js,
    Python,
    C,
    Go,
}

impl Lang {
    /// Parses `--lang`.
    pub fn parse(text: &str) -> Result<Lang, String> {
        match text {
            "rust" => Ok(Lang::Rust),
            "js" | "javascript" => Ok(Lang::Js),
            "python" | "py" => Ok(Lang::Python),
            "c" => Ok(Lang::C),
            "go" | "golang" => Ok(Lang::Go),
            other => Err(format!(
                "unknown language {other:?}: expected rust, js, python, c or go"
            )),
        }
    }
}

/// The gateway's source tree, as this binary was built from it (the SDK and tools live there).
fn source_tree() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        Path::to_path_buf,
    )
}

const CONTRACT: &str = include_str!("../../../../wit/plugin.wit");
const CACHED_BUILD: &str = include_str!("../../../templates/common/cached-build.sh");
const TEST_SH: &str = include_str!("../../../templates/common/test.sh");
const GITIGNORE: &str = include_str!("../../../templates/common/gitignore");

/// The Go example as it is: the guard and the hand-written binding of the contract.
const GO_FILES: &[(&str, &str)] = &[
    (
        "go.mod",
        include_str!("../../../../examples/go-plugin/go.mod"),
    ),
    (
        "main.go",
        include_str!("../../../../examples/go-plugin/main.go"),
    ),
    (
        "config.go",
        include_str!("../../../../examples/go-plugin/config.go"),
    ),
    (
        "wasmgate/abi.go",
        include_str!("../../../../examples/go-plugin/wasmgate/abi.go"),
    ),
    (
        "wasmgate/imports.go",
        include_str!("../../../../examples/go-plugin/wasmgate/imports.go"),
    ),
    (
        "wasmgate/http.go",
        include_str!("../../../../examples/go-plugin/wasmgate/http.go"),
    ),
    (
        "wasmgate/log.go",
        include_str!("../../../../examples/go-plugin/wasmgate/log.go"),
    ),
    (
        "wasmgate/exports.go",
        include_str!("../../../../examples/go-plugin/wasmgate/exports.go"),
    ),
];

/// One file of a project: path inside it, contents before substitution, executable or not.
type Template = (&'static str, &'static str, bool);

fn templates(lang: Lang) -> Vec<Template> {
    let mut files: Vec<Template> =
        vec![(".gitignore", GITIGNORE, false), ("test.sh", TEST_SH, true)];
    match lang {
        Lang::Rust => files.extend([
            (
                "Cargo.toml",
                include_str!("../../../templates/rust/Cargo.toml"),
                false,
            ),
            (
                ".cargo/config.toml",
                include_str!("../../../templates/rust/cargo/config.toml"),
                false,
            ),
            (
                "README.md",
                include_str!("../../../templates/rust/README.md"),
                false,
            ),
            (
                "src/lib.rs",
                include_str!("../../../../examples/rust-plugin/src/lib.rs"),
                false,
            ),
            (
                "src/config.rs",
                include_str!("../../../../examples/rust-plugin/src/config.rs"),
                false,
            ),
        ]),
        Lang::Js => files.extend([
            (
                "guard.js",
                include_str!("../../../../examples/js-plugin/guard.js"),
                false,
            ),
            (
                "package.json",
                include_str!("../../../templates/js/package.json"),
                false,
            ),
            (
                "build.sh",
                include_str!("../../../templates/js/build.sh"),
                true,
            ),
            (
                "README.md",
                include_str!("../../../templates/js/README.md"),
                false,
            ),
        ]),
        Lang::Python => files.extend([
            (
                "app.py",
                include_str!("../../../../examples/python-plugin/app.py"),
                false,
            ),
            (
                "build.sh",
                include_str!("../../../templates/python/build.sh"),
                true,
            ),
            (
                "README.md",
                include_str!("../../../templates/python/README.md"),
                false,
            ),
        ]),
        Lang::C => files.extend([
            (
                "guard.c",
                include_str!("../../../../examples/c-plugin/guard.c"),
                false,
            ),
            (
                "build.sh",
                include_str!("../../../templates/c/build.sh"),
                true,
            ),
            (
                "README.md",
                include_str!("../../../templates/c/README.md"),
                false,
            ),
        ]),
        Lang::Go => files.extend(
            GO_FILES
                .iter()
                .map(|&(rel, text)| (rel, text, false))
                .chain([
                    (
                        "build.sh",
                        include_str!("../../../templates/go/build.sh"),
                        true,
                    ),
                    (
                        "README.md",
                        include_str!("../../../templates/go/README.md"),
                        false,
                    ),
                ]),
        ),
    }
    if lang != Lang::Rust {
        files.push(("wit/plugin.wit", CONTRACT, false));
        files.push(("cached-build.sh", CACHED_BUILD, false));
    }
    files
}

/// What `plugin new` wrote, and how to build it.
#[derive(Debug)]
pub struct Scaffold {
    pub dir: PathBuf,
    pub files: Vec<&'static str>,
    /// One shell command, run from the directory `plugin new` ran in.
    pub build: String,
    /// The component the build writes, relative to that directory.
    pub wasm: PathBuf,
    pub test: String,
}

/// Why no project was written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("{0}")]
    Invalid(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// A plugin name: a file name the registry accepts and a valid crate name.
fn check_name(name: &str) -> Result<(), ScaffoldError> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok && name.len() <= 64 {
        Ok(())
    } else {
        Err(ScaffoldError::Invalid(format!(
            "invalid plugin name {name:?}: lower-case letters, digits, '-' and '_', starting \
             with a letter (it becomes the plugin's file name)"
        )))
    }
}

/// The shell-quoted form of a path for the printed command.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// Environment the build command needs for tools the gateway's source tree already has
/// (installed there by `scripts/setup.sh`); empty when they are not there (the project's
/// README says how to install them).
fn tool_env(lang: Lang, tree: &Path) -> String {
    let tools = tree.join("target/lang-tools");
    let (var, path) = match lang {
        Lang::Rust => return String::new(),
        Lang::Js => (
            "COMPONENTIZE_JS",
            tools.join("js/node_modules/.bin/componentize-js"),
        ),
        Lang::Python => ("COMPONENTIZE_PY", tools.join("py/bin/componentize-py")),
        Lang::C | Lang::Go => ("WIT_C", tools.join("wit-c/debug/wit-c")),
    };
    if path.exists() {
        format!("{var}={} ", quoted(&path))
    } else {
        String::new()
    }
}

/// Writes the project for `name` into `parent/name`, which must not exist or be empty.
/// `sdk` overrides the SDK path of the Rust project (default: this binary's source tree).
pub fn create(
    parent: &Path,
    name: &str,
    lang: Lang,
    sdk: Option<&Path>,
) -> Result<Scaffold, ScaffoldError> {
    check_name(name)?;
    let dir = parent.join(name);
    let write_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| ScaffoldError::Write { path, source }
    };
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map_err(write_err(&dir))?
            .next()
            .is_some()
    {
        return Err(ScaffoldError::Invalid(format!(
            "{} exists and is not empty",
            dir.display()
        )));
    }
    let tree = source_tree();
    let crate_name = name.replace('-', "_");
    let wasm_in_project = match lang {
        Lang::Rust => format!("target/wasm32-wasip2/release/{crate_name}.wasm"),
        _ => format!("{name}.wasm"),
    };
    let sdk_path = match sdk {
        Some(p) => std::path::absolute(p).map_err(write_err(p))?,
        None => tree.join("plugin-sdk"),
    };
    if lang == Lang::Rust && !sdk_path.join("Cargo.toml").is_file() {
        return Err(ScaffoldError::Invalid(format!(
            "no plugin-sdk at {}: pass --sdk-path <gateway source>/plugin-sdk",
            sdk_path.display()
        )));
    }
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{crate}}", &crate_name)
            .replace("{{wasm}}", &wasm_in_project)
            .replace("{{sdk_path}}", &sdk_path.display().to_string())
    };
    let mut files = Vec::new();
    for (rel, text, executable) in templates(lang) {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(write_err(parent))?;
        }
        std::fs::write(&path, fill(text)).map_err(write_err(&path))?;
        if executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(write_err(&path))?;
        }
        files.push(rel);
    }
    let cd = format!("cd {}", quoted(Path::new(name)));
    let build = match lang {
        Lang::Rust => format!("{cd} && cargo build --release --target wasm32-wasip2"),
        _ => format!("{cd} && {}bash build.sh", tool_env(lang, &tree)),
    };
    let test = match lang {
        Lang::Rust => format!("{cd} && cargo test && bash test.sh"),
        _ => format!("{cd} && bash test.sh"),
    };
    Ok(Scaffold {
        wasm: Path::new(name).join(&wasm_in_project),
        dir,
        files,
        build,
        test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_and_names_are_checked() {
        assert_eq!(Lang::parse("go"), Ok(Lang::Go));
        let err = Lang::parse("cobol").expect_err("unknown language");
        assert!(err.contains("rust, js, python, c or go"), "{err}");
        assert!(check_name("my-guard_2").is_ok());
        for bad in ["", "Guard", "9lives", "a/b", "a b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    /// The tool versions the templates pin are the ones scripts/setup-lang-tools.sh installs.
    #[test]
    fn templates_pin_the_tool_versions_the_setup_script_installs() {
        let setup = include_str!("../../../../scripts/setup-lang-tools.sh");
        let pinned = |var: &str| {
            setup
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{var}=")))
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("{var} in setup-lang-tools.sh"))
        };
        let js = pinned("COMPONENTIZE_JS_VERSION");
        let py = pinned("COMPONENTIZE_PY_VERSION");
        assert!(
            include_str!("../../../templates/js/package.json")
                .contains(&format!("\"@bytecodealliance/componentize-js\": \"{js}\""))
        );
        for text in [
            include_str!("../../../templates/python/build.sh"),
            include_str!("../../../templates/python/README.md"),
        ] {
            assert!(text.contains(&format!("componentize-py=={py}")));
        }
    }

    #[test]
    fn a_project_is_written_with_every_placeholder_filled() {
        let tmp = std::env::temp_dir().join(format!("wasmgate-scaffold-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        for (lang, name) in [
            (Lang::Rust, "r-guard"),
            (Lang::Js, "j"),
            (Lang::Python, "p"),
            (Lang::C, "c"),
            (Lang::Go, "g"),
        ] {
            let s = create(&tmp, name, lang, None).expect("scaffold");
            for rel in &s.files {
                let text = std::fs::read_to_string(s.dir.join(rel)).expect("written");
                assert!(
                    !text.contains("{{"),
                    "{rel} of {lang:?} keeps a placeholder"
                );
            }
            assert!(
                s.build.starts_with(&format!("cd '{name}' && ")),
                "{}",
                s.build
            );
            assert!(
                create(&tmp, name, lang, None).is_err(),
                "refuses a non-empty directory"
            );
        }
        let cargo = std::fs::read_to_string(tmp.join("r-guard/Cargo.toml")).expect("Cargo.toml");
        assert!(cargo.contains("[profile.release]") && cargo.contains("[workspace]"));
        assert!(tmp.join("r-guard/.cargo/config.toml").is_file());
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
