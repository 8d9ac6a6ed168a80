//! The file provider: `providers.file.filename` and `providers.file.directory`, merged.

use std::path::Path;

use super::{errors, loaded};

#[test]
fn directory_provider_merges_every_yaml_file() {
    let config = loaded("provider_dir/gateway.yml");
    let http = &config.dynamic.http;
    assert_eq!(http.routers["api"].service, "api-svc");
    assert_eq!(
        http.routers["api"].middlewares,
        ["add"],
        "add@file names the local middleware"
    );
    assert!(http.services.contains_key("api-svc"), "from services.yaml");
    assert_eq!(
        http.middlewares["add"].plugin, "headers",
        "from a subdirectory"
    );
    let dir = "src/config/testdata/provider_dir";
    assert_eq!(
        config.files(),
        [
            Path::new(&format!("{dir}/gateway.yml")),
            Path::new(&format!("{dir}/dynamic/nested/middlewares.yml")),
            Path::new(&format!("{dir}/dynamic/routers.yml")),
            Path::new(&format!("{dir}/dynamic/services.yaml")),
        ],
        "the main file, then the directory's *.yml/*.yaml in path order; notes.txt is skipped"
    );
    assert_eq!(
        config
            .error_at(&["http", "routers", "api", "rule"], "bad rule")
            .to_string(),
        format!("{dir}/dynamic/routers.yml:4: http.routers.api.rule: bad rule"),
        "errors found later point into the provider file that defines the key"
    );
}

#[test]
fn same_name_in_two_files_is_an_error_naming_both() {
    let dir = "src/config/testdata/provider_dup";
    assert_eq!(
        errors("provider_dup/gateway.yml"),
        [
            format!(
                "{dir}/dynamic/b.yml:4: http.routers.api: router \"api\" is already defined in {dir}/dynamic/a.yml:3"
            ),
            format!(
                "{dir}/dynamic/b.yml:8: http.services.svc: service \"svc\" is already defined in {dir}/gateway.yml:9"
            ),
            format!(
                "{dir}/dynamic/b.yml:12: entryPoints: \"entryPoints\" is static configuration; it is only read from the main file"
            ),
        ]
    );
}

#[test]
fn filename_provider_is_relative_to_the_naming_file() {
    let config = loaded("provider_file/gateway.yml");
    assert_eq!(config.dynamic.http.routers["r"].service, "s");
    assert!(config.dynamic.http.services.contains_key("s"));
    assert_eq!(config.files().len(), 2);
}

#[test]
fn unreadable_provider_file_is_reported_at_the_key_naming_it() {
    assert_eq!(
        errors("err_provider_missing.yml"),
        [
            "src/config/testdata/err_provider_missing.yml:6: providers.file.filename: cannot read \"src/config/testdata/nowhere.yml\": No such file or directory (os error 2)"
        ]
    );
}

#[test]
fn malformed_provider_file_reports_its_own_line_without_cascading() {
    assert_eq!(
        errors("provider_bad/gateway.yml"),
        [
            "src/config/testdata/provider_bad/broken.yml:4: invalid YAML: while parsing a node, did not find expected node content"
        ],
        "router r names service s from the broken file: no \"is not defined\" error on top"
    );
}

/// Regression (fuzzing note of issue 7): a provider path naming a device or a huge file is a
/// clear error at its key, never an endless read.
#[test]
fn provider_files_that_are_devices_or_too_large_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let main = dir.path().join("gateway.yml");
    let base = "entryPoints:\n  web: { address: \"127.0.0.1:0\" }\n";
    std::fs::write(
        &main,
        format!("{base}providers:\n  file: {{ filename: /dev/zero }}\n"),
    )
    .expect("write");
    let text = match crate::config::load(&main) {
        Ok(_) => panic!("/dev/zero must not load"),
        Err(e) => e.to_string(),
    };
    assert!(
        text.contains("providers.file.filename") && text.contains("not a regular file"),
        "{text}"
    );
    let huge = dir.path().join("huge.yml");
    let file = std::fs::File::create(&huge).expect("create");
    file.set_len((16 << 20) + 1).expect("sparse file");
    std::fs::write(
        &main,
        format!("{base}providers:\n  file: {{ filename: huge.yml }}\n"),
    )
    .expect("write");
    let text = match crate::config::load(&main) {
        Ok(_) => panic!("a 16 MiB + 1 file must not load"),
        Err(e) => e.to_string(),
    };
    assert!(text.contains("larger than 16 MiB"), "{text}");
}

fn contribution(provider: &'static str, text: &str) -> crate::config::Contribution {
    crate::config::Contribution {
        provider,
        origin: std::path::PathBuf::from(format!("{provider} provider test")),
        body: crate::config::ContributionBody::Text(text.to_string()),
    }
}

#[test]
fn control_plane_providers_have_their_own_namespaces_and_reach_each_other_by_suffix() {
    let http = contribution(
        "http",
        "http:\n  routers:\n    r:\n      rule: \"Path(`/r`)\"\n      service: svc@redis\n      \
         middlewares: [add@file, own]\n  middlewares:\n    own:\n      headers:\n        \
         customRequestHeaders: {X-B: \"2\"}\n",
    );
    let redis = contribution(
        "redis",
        r#"{"http": {"services": {"svc": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:2"}]}}}}}"#,
    );
    let path = super::fixture("control_plane/gateway.yml");
    let config = match crate::config::load_with(&path, &[http, redis]) {
        Ok(config) => config,
        Err(errors) => panic!("should load, got:\n{errors}"),
    };
    let routers = &config.dynamic.http.routers;
    assert_eq!(routers["fromfile"].service, "svc@redis");
    assert_eq!(routers["r@http"].service, "svc@redis");
    assert_eq!(routers["r@http"].middlewares, ["add", "own@http"]);
    assert!(config.dynamic.http.services.contains_key("svc@redis"));
    assert_eq!(
        config.files(),
        [path.as_path()],
        "contributions are not watched files"
    );
}

#[test]
fn a_bare_name_in_a_provider_is_its_own_and_errors_name_the_provider() {
    let http = contribution(
        "http",
        "http:\n  routers:\n    r:\n      rule: \"Path(`/r`)\"\n      service: local\n",
    );
    let path = super::fixture("control_plane/gateway.yml");
    let errors = match crate::config::load_with(&path, &[http]) {
        Ok(_) => panic!("local means local@http, which is not defined"),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect::<Vec<_>>(),
    };
    assert!(
        errors.contains(
            &"http provider test:5: http.routers.r@http.service: service \"local@http\" is not \
              defined (the http provider defines no service \"local\")"
                .to_string()
        ),
        "{errors:?}"
    );
}
