//! A serde `Deserializer` over [`Node`] trees, so the raw config structs keep serde's derive
//! (camelCase, `deny_unknown_fields`, defaults) while every error knows its key path and line.
//!
//! Runs at load only. Each router, service, middleware, ... is deserialized on its own, so one bad
//! entity does not hide the errors of the others. Scalars are typed by the YAML 1.2 core schema
//! when the target asks for "anything" (`serde_json::Value`, durations); a field that wants a
//! string takes any non-null scalar as written (`X-Id: 12` is the string "12"), like Traefik.

use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Unexpected, Visitor};

use super::case_fold::{field_for, split_scalar};
use super::tree::{Entry, Node, Resolved, Seg, Value};

/// A deserialization error with the key path and line of the node it is about.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DeError {
    pub(crate) location: Option<(Vec<Seg>, usize)>,
    pub(crate) reason: String,
}

impl DeError {
    /// Locates the error at `path`/`line` unless a deeper node already did.
    fn at(mut self, path: &[Seg], line: usize) -> Self {
        if self.location.is_none() {
            self.location = Some((path.to_vec(), line));
        }
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for DeError {}

/// What a node is, for "expected X, found Y".
fn unexpected(node: &Node) -> Unexpected<'_> {
    match &node.value {
        Value::Seq(_) => Unexpected::Seq,
        Value::Map(_) => Unexpected::Map,
        Value::Scalar(scalar) => match scalar.resolve() {
            Resolved::Null => Unexpected::Unit,
            Resolved::Bool(b) => Unexpected::Bool(b),
            Resolved::Int(n) => match i64::try_from(n) {
                Ok(n) => Unexpected::Signed(n),
                Err(_) => Unexpected::Other("a large integer"),
            },
            Resolved::Float(f) => Unexpected::Float(f),
            Resolved::Str(s) => Unexpected::Str(s),
        },
    }
}

fn describe(unexpected: &Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Unit => "null".to_string(),
        Unexpected::Map => "mapping".to_string(),
        Unexpected::Str(s) => format!("string \"{s}\""),
        Unexpected::Unsigned(n) => format!("integer {n}"),
        Unexpected::Signed(n) => format!("integer {n}"),
        Unexpected::Float(n) => format!("number {n}"),
        other => other.to_string(),
    }
}

/// serde's names for what a visitor expects, in words for a config author.
fn expected_text(expected: &dyn de::Expected) -> String {
    let text = expected.to_string();
    match text.as_str() {
        "u8" => "an integer from 0 to 255".to_string(),
        "u16" => "an integer from 0 to 65535".to_string(),
        "u32" => "an integer from 0 to 4294967295".to_string(),
        "u64" | "usize" => "a non-negative integer".to_string(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".to_string(),
        "a sequence" => "a list".to_string(),
        "a map" => "a mapping".to_string(),
        _ if text.starts_with("struct ") => "a mapping".to_string(),
        _ if text.starts_with("enum ") => "one of the allowed values".to_string(),
        _ => text,
    }
}

fn list(names: &'static [&'static str]) -> String {
    names.join(", ")
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            location: None,
            reason: msg.to_string(),
        }
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        let expected = expected_text(expected);
        Self::custom(format_args!(
            "expected {expected}, found {}",
            describe(&unexpected)
        ))
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        let expected = expected_text(expected);
        Self::custom(format_args!(
            "expected {expected}, found {}",
            describe(&unexpected)
        ))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(format_args!(
            "unknown key \"{field}\" (allowed: {})",
            list(expected)
        ))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(format_args!(
            "unknown value \"{variant}\" (allowed: {})",
            list(expected)
        ))
    }

    fn missing_field(field: &'static str) -> Self {
        Self::custom(format_args!("missing required key \"{field}\""))
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::custom(format_args!("duplicate key \"{field}\""))
    }
}

/// Deserializes `node`, found at `path` (whose key is on `line`), into `T`. The error, if any,
/// is always located.
pub(crate) fn from_node<T: DeserializeOwned>(
    node: &Node,
    path: &[Seg],
    line: usize,
) -> Result<T, DeError> {
    T::deserialize(NodeDe {
        node,
        path: path.to_vec(),
        line,
    })
}

/// Deserializes a node; `line` is the line of its key (or its own line for sequence items).
struct NodeDe<'a> {
    node: &'a Node,
    path: Vec<Seg>,
    line: usize,
}

impl NodeDe<'_> {
    fn child(&self, seg: Seg) -> Vec<Seg> {
        let mut path = self.path.clone();
        path.push(seg);
        path
    }

    fn any<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Scalar(scalar) => match scalar.resolve() {
                Resolved::Null => visitor.visit_unit(),
                Resolved::Bool(b) => visitor.visit_bool(b),
                Resolved::Int(n) => match (u64::try_from(n), i64::try_from(n)) {
                    (Ok(n), _) => visitor.visit_u64(n),
                    (_, Ok(n)) => visitor.visit_i64(n),
                    _ => visitor.visit_i128(n),
                },
                Resolved::Float(f) => visitor.visit_f64(f),
                Resolved::Str(s) => visitor.visit_str(s),
            },
            Value::Seq(items) => visitor.visit_seq(SeqDe {
                items: items.iter().enumerate(),
                parent: &self,
            }),
            Value::Map(entries) => visitor.visit_map(MapDe {
                entries: entries.iter(),
                parent: &self,
                value: None,
                fields: None,
            }),
        }
    }

    fn string<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Scalar(scalar) if scalar.resolve() != Resolved::Null => {
                visitor.visit_str(&scalar.text)
            }
            _ => self.any(visitor),
        }
    }
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let (path, line) = (self.path.clone(), self.line);
        self.any(visitor).map_err(|e| e.at(&path, line))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let (path, line) = (self.path.clone(), self.line);
        let result = match &self.node.value {
            Value::Scalar(scalar) if scalar.resolve() == Resolved::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        };
        result.map_err(|e| e.at(&path, line))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let (path, line) = (self.path.clone(), self.line);
        self.string(visitor).map_err(|e| e.at(&path, line))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    /// Only unit variants (`isolation: per-request`) are used by the config schema.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let (path, line) = (self.path.clone(), self.line);
        let result = match &self.node.value {
            Value::Scalar(scalar) if scalar.resolve() != Resolved::Null => {
                visitor.visit_enum(scalar.text.as_str().into_deserializer())
            }
            _ => self.any(visitor),
        };
        result.map_err(|e| e.at(&path, line))
    }

    /// Structs are mappings only (serde would also take a sequence, by position); keys name
    /// fields case-insensitively, as in Traefik ([`super::case_fold::field_for`]).
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Map(entries) => {
                let result = visitor.visit_map(MapDe {
                    entries: entries.iter(),
                    parent: &self,
                    value: None,
                    fields: Some(fields),
                });
                result.map_err(|e| e.at(&self.path, self.line))
            }
            _ => {
                let found = describe(&unexpected(self.node));
                let error: DeError =
                    de::Error::custom(format_args!("expected a mapping, found {found}"));
                Err(error.at(&self.path, self.line))
            }
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    /// A list; a single non-null scalar is the list of its comma-separated parts, as Traefik
    /// reads it (`entryPoints: web`) ([`super::case_fold::split_scalar`]); so is each scalar
    /// item of a list (`sourceRange: ["10.0.0.0/8, 192.168.0.0/16"]` is two ranges), since
    /// Traefik's parser joins a list's items with commas and splits them again.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let (path, line) = (self.path.clone(), self.line);
        let result = match &self.node.value {
            Value::Scalar(scalar) if scalar.resolve() != Resolved::Null => {
                let items = split_scalar(scalar, self.node.line);
                visitor.visit_seq(SeqDe {
                    items: items.iter().enumerate(),
                    parent: &self,
                })
            }
            Value::Seq(items) if items.iter().any(has_comma) => {
                let items: Vec<Node> = items
                    .iter()
                    .flat_map(|item| match &item.value {
                        Value::Scalar(scalar) if has_comma(item) => split_scalar(scalar, item.line),
                        _ => vec![item.clone()],
                    })
                    .collect();
                visitor.visit_seq(SeqDe {
                    items: items.iter().enumerate(),
                    parent: &self,
                })
            }
            _ => self.any(visitor),
        };
        result.map_err(|e| e.at(&path, line))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char
        bytes byte_buf unit unit_struct tuple tuple_struct map
    }
}

/// A list item that Traefik's parser would split: a scalar (not null) holding a comma.
fn has_comma(item: &Node) -> bool {
    matches!(&item.value, Value::Scalar(s) if s.resolve() != Resolved::Null && s.text.contains(','))
}

struct SeqDe<'a, 'p> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    parent: &'p NodeDe<'a>,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_, '_> {
    type Error = DeError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some((index, item)) = self.items.next() else {
            return Ok(None);
        };
        let path = self.parent.child(Seg::Index(index));
        seed.deserialize(NodeDe {
            node: item,
            path,
            line: item.line,
        })
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'a, 'p> {
    entries: std::slice::Iter<'a, Entry>,
    parent: &'p NodeDe<'a>,
    value: Option<&'a Entry>,
    /// A struct's field names, which keys match case-insensitively; `None` for a map, whose
    /// keys are data and kept as written.
    fields: Option<&'static [&'static str]>,
}

impl<'de> de::MapAccess<'de> for MapDe<'_, '_> {
    type Error = DeError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(entry);
        let path = self.parent.child(Seg::Key(entry.key.clone()));
        let key = self
            .fields
            .and_then(|fields| field_for(&entry.key, fields))
            .unwrap_or(&entry.key);
        seed.deserialize(KeyDe { key })
            .map(Some)
            .map_err(|e| e.at(&path, entry.line))
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DeError> {
        let Some(entry) = self.value.take() else {
            return Err(de::Error::custom("value requested before its key"));
        };
        let path = self.parent.child(Seg::Key(entry.key.clone()));
        seed.deserialize(NodeDe {
            node: &entry.value,
            path,
            line: entry.line,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A mapping key: always a string (the tree only has scalar keys).
struct KeyDe<'a> {
    key: &'a str,
}

impl<'de> de::Deserializer<'de> for KeyDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.key)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}
