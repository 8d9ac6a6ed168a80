//! The storage file of ACME resolvers, in Traefik's `acme.json` layout: by resolver name, the
//! account (`Email`, `Registration.uri`, `PrivateKey`) and the certificates (`domain.main`,
//! `domain.sans`, base64 PEM `certificate` and `key`). Read at start-up and before each
//! issuance; written (whole, through a temporary file renamed over it, mode 0600) after an
//! account is created or a certificate issued. Several resolvers may share one file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// Largest storage file read (thousands of certificates fit).
const MAX_STORAGE_BYTES: u64 = 64 << 20;

/// Why the storage file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot read \"{path}\": {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("\"{path}\" is not an ACME storage file: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("cannot write \"{path}\": {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// The whole file: resolver name → its record.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct StorageFile {
    pub(crate) resolvers: BTreeMap<String, ResolverRecord>,
}

/// One resolver's account and certificates.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ResolverRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) account: Option<AccountRecord>,
    #[serde(default)]
    pub(crate) certificates: Option<Vec<CertificateRecord>>,
}

/// The ACME account: its URL at the CA (`Registration.uri`) and its key (`PrivateKey`, base64
/// of the PKCS#8 DER; an account whose key is not PKCS#8 P-256 is replaced by a new one).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AccountRecord {
    #[serde(default)]
    pub(crate) email: String,
    #[serde(default)]
    pub(crate) registration: Option<Registration>,
    #[serde(default)]
    pub(crate) private_key: String,
    #[serde(default)]
    pub(crate) key_type: String,
}

/// `Registration`: the account URL (and the CA's account object, kept as it came).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Registration {
    #[serde(default)]
    pub(crate) body: serde_json::Value,
    pub(crate) uri: String,
}

/// One certificate with its key, for one set of names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CertificateRecord {
    pub(crate) domain: Domain,
    /// Base64 of the PEM chain.
    pub(crate) certificate: String,
    /// Base64 of the PEM key.
    pub(crate) key: String,
    #[serde(rename = "Store", default = "default_store")]
    pub(crate) store: String,
}

fn default_store() -> String {
    "default".to_string()
}

/// `domain`: the main name and the other names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Domain {
    pub(crate) main: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) sans: Vec<String>,
}

impl Domain {
    /// The names, main first.
    pub(crate) fn names(&self) -> Vec<String> {
        std::iter::once(&self.main)
            .chain(&self.sans)
            .map(|n| n.to_ascii_lowercase())
            .collect()
    }
}

impl CertificateRecord {
    /// A record for `names` (main first) from the PEM chain and key.
    pub(crate) fn new(names: &[String], chain_pem: &str, key_pem: &str) -> CertificateRecord {
        let (main, sans) = names.split_first().map_or_else(
            || (String::new(), Vec::new()),
            |(m, s)| (m.clone(), s.to_vec()),
        );
        CertificateRecord {
            domain: Domain { main, sans },
            certificate: STANDARD.encode(chain_pem),
            key: STANDARD.encode(key_pem),
            store: default_store(),
        }
    }

    /// The PEM chain and key; `None` when either is not base64.
    pub(crate) fn pem(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        let chain = STANDARD.decode(self.certificate.trim()).ok()?;
        let key = STANDARD.decode(self.key.trim()).ok()?;
        Some((chain, key))
    }
}

/// Reads the storage file at `path`; a missing or empty file is an empty storage.
///
/// # Errors
/// The file cannot be read or is not JSON of this layout.
pub(crate) fn read(path: &Path) -> Result<StorageFile, StorageError> {
    use std::io::Read;
    let shown = || path.display().to_string();
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StorageFile::default()),
        Err(source) => {
            return Err(StorageError::Read {
                path: shown(),
                source,
            });
        }
    };
    let mut bytes = Vec::new();
    file.take(MAX_STORAGE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|source| StorageError::Read {
            path: shown(),
            source,
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(StorageFile::default());
    }
    serde_json::from_slice(&bytes).map_err(|source| StorageError::Parse {
        path: shown(),
        source,
    })
}

/// Writes `storage` to `path` whole: a temporary file beside it (mode 0600) renamed over it,
/// so a crash never leaves half a file.
///
/// # Errors
/// The directory is not writable or the disk is full.
pub(crate) fn write(path: &Path, storage: &StorageFile) -> Result<(), StorageError> {
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |source| StorageError::Write {
        path: path.display().to_string(),
        source,
    };
    let json = serde_json::to_vec_pretty(storage).map_err(|e| fail(std::io::Error::other(e)))?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(fail)?;
    file.write_all(&json).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traefiks_layout_round_trips_and_is_written_owner_only() {
        let text = r#"{"le": {"Account": {"Email": "a@b.test", "Registration": {"body":
            {"status": "valid"}, "uri": "https://ca.test/acct/1"}, "PrivateKey": "AAAA",
            "KeyType": "EC256"}, "Certificates": [{"domain": {"main": "a.test", "sans":
            ["b.test"]}, "certificate": "Y2VydA==", "key": "a2V5", "Store": "default"}]}}"#;
        let parsed: StorageFile = serde_json::from_str(text).expect("parse");
        let record = &parsed.resolvers["le"];
        let certs = record.certificates.as_deref().unwrap_or_default();
        assert_eq!(certs[0].domain.names(), ["a.test", "b.test"]);
        assert_eq!(certs[0].pem(), Some((b"cert".to_vec(), b"key".to_vec())));
        let dir = std::env::temp_dir().join(format!("wasmgate-acme-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("acme.json");
        write(&path, &parsed).expect("write");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = read(&path).expect("read");
        assert_eq!(
            again.resolvers["le"]
                .account
                .as_ref()
                .map(|a| a.email.as_str()),
            Some("a@b.test")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
