//! What the layers above publish into the metrics when a snapshot is built, read only at
//! scrape time: the servers' health (`traefik_service_server_up`), the certificates served
//! (`traefik_tls_certs_not_after`), the plugin files refused (`wasmgate_plugin_files_rejected`)
//! and how long configuration loads took (`wasmgate_config_reload_duration_seconds`). Nothing
//! here is touched per request.

use std::sync::{Arc, Mutex};

use super::histogram::FixedHistogram;

/// The live health of the load balancers' servers; `app` implements it over `lb` for each
/// snapshot. Called at scrape time only.
pub trait ServerHealth: Send + Sync {
    /// Calls `f(service, url, up)` for every server of every load balancer.
    fn each_server(&self, f: &mut dyn FnMut(&str, &str, bool));
}

/// One certificate the TLS layer serves, with Traefik's labels.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedCertificate {
    /// The subject's common name (empty when it has none).
    pub cn: String,
    /// The DNS names of the subjectAltName extension, joined with `,` (Traefik's `sans`).
    pub sans: String,
    /// The serial number in decimal (Go's `big.Int.String()`, as Traefik prints it).
    pub serial: String,
    /// `notAfter` as Unix seconds.
    pub not_after: i64,
}

/// The certificates ACME resolvers hold now (issued, renewed or read from storage), written by
/// `tls::acme` after each change, read at scrape time. Kept outside the recorder: storage is
/// read before the recorder is installed.
static ACME_CERTIFICATES: Mutex<Vec<ServedCertificate>> = Mutex::new(Vec::new());

/// Replaces the ACME certificates shown in `traefik_tls_certs_not_after`. After an issuance.
pub fn publish_acme_certificates(certs: Vec<ServedCertificate>) {
    *ACME_CERTIFICATES.lock().unwrap_or_else(|p| p.into_inner()) = certs;
}

/// The ACME certificates published last. Scrape time.
pub(super) fn acme_certificates() -> Vec<ServedCertificate> {
    ACME_CERTIFICATES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

/// A refused plugin file (the last good version keeps serving).
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedFile {
    pub plugin: String,
    pub hash: String,
}

/// Upper bounds (seconds) of the reload-duration histogram.
pub static RELOAD_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

pub(super) struct Published {
    pub(super) servers: Mutex<Option<Arc<dyn ServerHealth>>>,
    pub(super) certificates: Mutex<Vec<ServedCertificate>>,
    pub(super) rejected_files: Mutex<Vec<RejectedFile>>,
    pub(super) reload_durations: FixedHistogram,
}

impl std::fmt::Debug for Published {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Published").finish_non_exhaustive()
    }
}

impl Published {
    pub(super) fn new() -> Self {
        Published {
            servers: Mutex::new(None),
            certificates: Mutex::default(),
            rejected_files: Mutex::default(),
            reload_durations: FixedHistogram::new(&RELOAD_BUCKETS),
        }
    }

    /// `(service, url, up)` of every server now.
    pub(super) fn servers(&self) -> Vec<(String, String, bool)> {
        let health = self
            .servers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut out = Vec::new();
        if let Some(h) = health {
            h.each_server(&mut |service, url, up| {
                out.push((super::names::qualified(service), url.to_string(), up));
            });
        }
        out.sort();
        out
    }
}
