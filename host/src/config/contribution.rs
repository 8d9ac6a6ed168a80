//! What a control-plane provider (`crate::providers`) hands to a config load: its dynamic
//! configuration, as text (the HTTP provider's body, YAML or JSON) or as a tree already built
//! (the KV providers), and the origin that errors in it name instead of a file.

use std::path::PathBuf;

use crate::yaml::tree::Node;

/// One provider's dynamic configuration, read by [`super::load_with`] like a provider file
/// (`http:`, `tcp:`, `tls:` only). Cheap to clone next to a load (a parse per load).
#[derive(Debug, Clone)]
pub struct Contribution {
    /// The provider's name as Traefik writes it in `name@provider` (`http`, `redis`, `etcd`).
    pub provider: &'static str,
    /// What errors name in place of a file, e.g. `http provider http://cp:9000/config` or
    /// `redis provider 127.0.0.1:6379 traefik/`.
    pub origin: PathBuf,
    pub body: ContributionBody,
}

#[derive(Debug, Clone)]
pub enum ContributionBody {
    /// YAML or JSON text (JSON is read as YAML flow syntax).
    Text(String),
    /// A tree built from key/value pairs; `None` when the store holds no key under the root.
    Tree(Option<KvTree>),
}

/// A config tree built outside the YAML reader (`crate::providers::kv_tree`).
#[derive(Debug, Clone)]
pub struct KvTree(pub(crate) Node);
