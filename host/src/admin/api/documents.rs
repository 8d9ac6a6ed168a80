//! What the HTTP and TCP documents of the API share: qualified names, the common tail of an
//! entry, who uses what, and a router's document. Config time.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

pub use crate::admin::names::qualified;

fn provider_of(qualified: &str) -> &str {
    qualified.rsplit_once('@').map_or("file", |(_, p)| p)
}

/// The common tail of every entry: status, name, provider.
pub fn finish(mut doc: Map<String, Value>, name: &str) -> Value {
    doc.insert("status".into(), json!("enabled"));
    doc.insert("name".into(), json!(name));
    doc.insert("provider".into(), json!(provider_of(name)));
    Value::Object(doc)
}

/// The routers naming each service and middleware (the `usedBy` lists), by qualified name.
#[derive(Default)]
pub struct UsedBy {
    services: BTreeMap<String, Vec<String>>,
    middlewares: BTreeMap<String, Vec<String>>,
}

impl UsedBy {
    pub fn service(&self, name: &str) -> Value {
        json!(self.services.get(name).cloned().unwrap_or_default())
    }

    pub fn middleware(&self, name: &str) -> Value {
        json!(self.middlewares.get(name).cloned().unwrap_or_default())
    }
}

/// A router as the config gives it, for [`router_document`].
pub struct RouterFacts<'a> {
    pub name: &'a str,
    pub rule: &'a str,
    pub service: &'a str,
    pub middlewares: &'a [String],
    /// Empty: every entry point.
    pub entry_points: &'a [String],
    pub priority: Option<i64>,
    pub tls: Option<Value>,
    /// The router's own `observability`, when it has one.
    pub observability: Option<Value>,
}

/// A router's document (`entryPoints`, `middlewares`, `service`, `rule`, `priority`, `tls`,
/// `using`, status, name, provider) under its qualified name; records its uses in `used_by`.
pub fn router_document(
    router: RouterFacts<'_>,
    all_entry_points: &[String],
    used_by: &mut UsedBy,
) -> (String, Value) {
    let name = qualified(router.name);
    let service = qualified(router.service);
    used_by
        .services
        .entry(service.clone())
        .or_default()
        .push(name.clone());
    let middlewares: Vec<String> = router.middlewares.iter().map(|m| qualified(m)).collect();
    for m in &middlewares {
        used_by
            .middlewares
            .entry(m.clone())
            .or_default()
            .push(name.clone());
    }
    let using = if router.entry_points.is_empty() {
        all_entry_points.to_vec()
    } else {
        router.entry_points.to_vec()
    };
    let mut doc = Map::new();
    doc.insert("entryPoints".into(), json!(using));
    if !middlewares.is_empty() {
        doc.insert("middlewares".into(), json!(middlewares));
    }
    doc.insert("service".into(), json!(service));
    doc.insert("rule".into(), json!(router.rule));
    if let Some(priority) = router.priority {
        doc.insert("priority".into(), json!(priority));
    }
    if let Some(tls) = router.tls {
        doc.insert("tls".into(), tls);
    }
    if let Some(observability) = router.observability {
        doc.insert("observability".into(), observability);
    }
    doc.insert("using".into(), json!(using));
    let doc = finish(doc, &name);
    (name, doc)
}

/// A service's or middleware's document: its kind's body under `kind`, `usedBy`, `type`.
pub fn kind_document(name: &str, kind: &str, body: Value, used_by: Value) -> Value {
    let mut doc = Map::new();
    doc.insert(kind.into(), body);
    doc.insert("usedBy".into(), used_by);
    doc.insert("type".into(), json!(kind.to_ascii_lowercase()));
    finish(doc, name)
}
