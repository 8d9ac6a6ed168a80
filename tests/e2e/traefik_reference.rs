//! Traefik v3's own reference dynamic configuration (the documentation's generated file-provider
//! example with every key; `traefik_reference/dynamic.yml`, values made real) through
//! `wasmgate check`: everything in it loads, except the keys the README lists as not supported
//! yet, each refused at its line with a reason saying so. A key that starts to be refused for
//! any other reason, or a "not supported yet" the README does not list, fails this test.

use std::path::Path;

use crate::support::check_config;
use crate::support::tls::TestCa;

const REFERENCE: &str = include_str!("traefik_reference/dynamic.yml");
const README: &str = include_str!("../../README.md");

/// The refusals left, as `key` (after `dynamic.yml:LINE: `) and the word the README names it
/// by. Each must say "not supported yet".
const NOT_SUPPORTED_YET: &[(&str, &str)] = &[
    ("http.serversTransports.ServersTransport0.spiffe", "spiffe"),
    ("http.serversTransports.ServersTransport1.spiffe", "spiffe"),
    (
        "tcp.serversTransports.TCPServersTransport0.tls.spiffe",
        "spiffe",
    ),
    (
        "tcp.serversTransports.TCPServersTransport1.tls.spiffe",
        "spiffe",
    ),
];

/// Writes the files the reference names (`@DIR@/...`) into `dir`.
fn write_referenced_files(dir: &Path) {
    let ca = TestCa::new("reference ca");
    let server = ca.leaf(&["router0.example.com", "router1.example.com"]);
    let client = ca.leaf(&["client.example.com"]);
    let files = [
        ("ca.pem", ca.pem()),
        ("server.pem", server.cert_pem.clone()),
        ("server-key.pem", server.key_pem.clone()),
        ("client.pem", client.cert_pem.clone()),
        ("client-key.pem", client.key_pem.clone()),
        // htpasswd (basicAuth) and htdigest (digestAuth) lines.
        (
            "users",
            "test3:$apr1$d9hr9HBB$4HxwgUir3HP4EsggP/QNo0\n".to_string(),
        ),
        (
            "digest-users",
            "test3:traefik:0123456789abcdef0123456789abcdef\n".to_string(),
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write a referenced file");
    }
}

#[test]
fn traefiks_reference_dynamic_configuration_loads_but_for_what_the_readme_lists() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_referenced_files(dir.path());
    let dynamic = dir.path().join("dynamic.yml");
    let text = REFERENCE.replace("@DIR@", &dir.path().display().to_string());
    std::fs::write(&dynamic, text).expect("write the reference");
    // The static side the reference's names need: its entry points (`udp` and `udp2` are UDP
    // ones) and the resolver `foobar`.
    let static_yaml = format!(
        "entryPoints:\n  web: {{ address: \"127.0.0.1:0\" }}\n  websecure: {{ address: \"127.0.0.1:0\" }}\n\
         \x20 tcp: {{ address: \"127.0.0.1:0\" }}\n  tcpsecure: {{ address: \"127.0.0.1:0\" }}\n\
         \x20 udp: {{ address: \"127.0.0.1:0/udp\" }}\n  udp2: {{ address: \"127.0.0.1:0/udp\" }}\n\
         certificatesResolvers:\n  foobar:\n    acme:\n      email: ops@example.com\n      \
         storage: \"{}\"\n      caServer: \"https://127.0.0.1:1/dir\"\n      tlsChallenge: {{}}\n\
         providers:\n  file:\n    filename: \"{}\"\n",
        dir.path().join("acme.json").display(),
        dynamic.display()
    );
    let (ok, _, stderr) = check_config(&static_yaml, &[]);
    assert!(!ok, "the listed keys are still refused:\n{stderr}");
    // Errors start with the file's path (warnings, e.g. for the deprecated headers options,
    // are log lines and are not counted).
    let prefix = format!("{}:", dynamic.display());
    let refused: Vec<(&str, &str)> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .filter_map(|rest| rest.split_once(": "))
        .filter_map(|(_line, rest)| rest.split_once(": "))
        .collect();
    let keys: Vec<&str> = refused.iter().map(|(key, _)| *key).collect();
    let expected: Vec<&str> = NOT_SUPPORTED_YET.iter().map(|(key, _)| *key).collect();
    assert_eq!(keys, expected, "{stderr}");
    for ((key, reason), (_, readme_word)) in refused.iter().zip(NOT_SUPPORTED_YET) {
        assert!(
            reason.contains("not supported yet"),
            "{key} is refused for another reason: {reason}"
        );
        assert!(
            README.contains(readme_word),
            "{key}: the README does not name {readme_word}"
        );
    }
    let other_files: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("gateway.yml:"))
        .collect();
    assert!(other_files.is_empty(), "{other_files:?}");
}
