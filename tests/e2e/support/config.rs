//! One builder for the gateway configs the suites write, so each test states only what it is
//! about (its routers, services, middlewares, entrypoint options) and not the preamble every
//! config shares: the entrypoint `web` on `127.0.0.1:0` (the gateway picks a port and prints it;
//! `Gateway::start` reads it) and, for plugin suites, the plugin directory `Gateway::start`
//! copies the plugins into.
//!
//! ```ignore
//! let yaml = Config::new()
//!     .plugin_dir()
//!     .route_through("r", "PathPrefix(`/`)", "app", "count")
//!     .service("app", &up.url())
//!     .middlewares("    count:\n      plugin: { name: counter }\n")
//!     .yaml();
//! ```
//!
//! Raw YAML blocks (`routers`, `services`, `middlewares`) are entries indented by 4 spaces, as
//! they would sit under `http.routers` etc.; `http` takes whole keys under `http` (2 spaces).

use std::fmt::Write as _;

#[derive(Clone, Debug, Default)]
pub struct Config {
    entrypoint: String,
    plugin_dir: bool,
    routers: String,
    services: String,
    middlewares: String,
    http: String,
}

impl Config {
    pub fn new() -> Config {
        Config::default()
    }

    /// YAML under `entryPoints.web` beside its address, e.g.
    /// `transport: { limits: { maxConnections: 5 } }`. Lines indented by 4 spaces or more are kept
    /// as they are (nested block YAML); others are put at 4 spaces.
    pub fn entrypoint(mut self, yaml: &str) -> Config {
        for line in yaml.lines().filter(|line| !line.trim().is_empty()) {
            if line.starts_with("    ") {
                let _ = writeln!(self.entrypoint, "{line}");
            } else {
                let _ = writeln!(self.entrypoint, "    {}", line.trim_start());
            }
        }
        self
    }

    /// `plugins: { directory: plugins }`: the directory `Gateway::start` copies plugins into.
    pub fn plugin_dir(mut self) -> Config {
        self.plugin_dir = true;
        self
    }

    /// A router `name` sending what matches `rule` to `service`, with no middlewares.
    pub fn route(self, name: &str, rule: &str, service: &str) -> Config {
        self.routers(&format!(
            "    {name}: {{ rule: \"{rule}\", service: {service} }}\n"
        ))
    }

    /// A router `name` sending what matches `rule` through the middlewares `chain` (a
    /// comma-separated list, e.g. `"strip, hdrs"`) to `service`.
    pub fn route_through(self, name: &str, rule: &str, service: &str, chain: &str) -> Config {
        self.routers(&format!(
            "    {name}: {{ rule: \"{rule}\", service: {service}, middlewares: [{chain}] }}\n"
        ))
    }

    /// A load-balanced service `name` with one server at `url`.
    pub fn service(self, name: &str, url: &str) -> Config {
        self.services(&format!(
            "    {name}: {{ loadBalancer: {{ servers: [{{ url: \"{url}\" }}] }} }}\n"
        ))
    }

    /// Router entries in YAML (4 spaces in), appended after those added so far.
    pub fn routers(mut self, yaml: &str) -> Config {
        push_block(&mut self.routers, yaml);
        self
    }

    /// Service entries in YAML (4 spaces in), appended after those added so far.
    pub fn services(mut self, yaml: &str) -> Config {
        push_block(&mut self.services, yaml);
        self
    }

    /// Middleware entries in YAML (4 spaces in), appended after those added so far.
    pub fn middlewares(mut self, yaml: &str) -> Config {
        push_block(&mut self.middlewares, yaml);
        self
    }

    /// Other keys under `http` (2 spaces in), e.g. `serversTransports`.
    pub fn http(mut self, yaml: &str) -> Config {
        push_block(&mut self.http, yaml);
        self
    }

    /// The config file's text.
    pub fn yaml(&self) -> String {
        let mut out = String::from("entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n");
        out.push_str(&self.entrypoint);
        if self.plugin_dir {
            out.push_str("plugins:\n  directory: plugins\n");
        }
        let sections = [
            ("routers", &self.routers),
            ("services", &self.services),
            ("middlewares", &self.middlewares),
        ];
        if sections.iter().all(|(_, body)| body.is_empty()) && self.http.is_empty() {
            out.push_str("http: {}\n");
            return out;
        }
        out.push_str("http:\n");
        for (key, body) in sections {
            if !body.is_empty() {
                let _ = write!(out, "  {key}:\n{body}");
            }
        }
        out.push_str(&self.http);
        out
    }
}

/// Appends `yaml` without its leading blank lines, ending in a newline.
fn push_block(into: &mut String, yaml: &str) {
    let yaml = yaml.trim_start_matches(['\n', '\r']);
    if yaml.trim().is_empty() {
        return;
    }
    into.push_str(yaml);
    if !yaml.ends_with('\n') {
        into.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn the_preamble_is_written_once_and_blocks_keep_their_order() {
        let yaml = Config::new()
            .entrypoint("transport: { limits: { maxConnections: 5 } }")
            .plugin_dir()
            .route_through("r", "PathPrefix(`/`)", "app", "a, b")
            .service("app", "http://127.0.0.1:1")
            .middlewares("\n    a:\n      headers: {}\n    b:\n      headers: {}")
            .yaml();
        assert_eq!(
            yaml,
            "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n    transport: { limits: { maxConnections: 5 } }\n\
             plugins:\n  directory: plugins\n\
             http:\n  routers:\n    r: { rule: \"PathPrefix(`/`)\", service: app, middlewares: [a, b] }\n\
             \x20 services:\n    app: { loadBalancer: { servers: [{ url: \"http://127.0.0.1:1\" }] } }\n\
             \x20 middlewares:\n    a:\n      headers: {}\n    b:\n      headers: {}\n"
        );
    }

    #[test]
    fn a_config_without_routes_has_an_empty_http_section() {
        assert_eq!(
            Config::new().yaml(),
            "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\nhttp: {}\n"
        );
    }
}
