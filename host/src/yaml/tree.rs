//! A YAML document as a tree of nodes that remember their line, built from saphyr-parser events.
//!
//! Built once per config file at load (linear in the file size). The tree is both what the
//! config deserializer reads ([`super::de`]) and the key-path -> line index that every error
//! is located with ([`super::source`]), so lines and values always come from the same parse.
//! Anchors and aliases are expanded, `<<` merge keys are applied (explicit keys win), and a key
//! given twice in one mapping is reported.

use std::collections::HashMap;
use std::fmt::Write as _;

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};

pub(crate) use super::scalar::{Resolved, Scalar};

/// One step of a key path: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// Renders a key path the way errors show it: `http.services.s.loadBalancer.servers[1].url`.
pub(crate) fn render_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Seg::Index(index) => {
                let _ = write!(out, "[{index}]");
            }
        }
    }
    out
}

/// Removes the entry (or item) at `path` below `node`; false when there is none. Used on the
/// error path to read an entity again without a key already reported.
pub(crate) fn remove_at(node: &mut Node, path: &[Seg]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut at = node;
    for seg in parents {
        let next = match (seg, &mut at.value) {
            (Seg::Key(k), Value::Map(entries)) => entries
                .iter_mut()
                .find(|e| e.key == *k)
                .map(|e| &mut e.value),
            (Seg::Index(i), Value::Seq(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => at = n,
            None => return false,
        }
    }
    match (last, &mut at.value) {
        (Seg::Key(k), Value::Map(entries)) => {
            let before = entries.len();
            entries.retain(|e| e.key != *k);
            entries.len() != before
        }
        (Seg::Index(i), Value::Seq(items)) if *i < items.len() => {
            items.remove(*i);
            true
        }
        _ => false,
    }
}

/// A YAML node and the 1-based line where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) line: usize,
    pub(crate) value: Value,
}

#[derive(Debug, Clone)]
pub(crate) enum Value {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A mapping entry; `line` is the line of the key, which is where errors about it point.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) line: usize,
    pub(crate) value: Node,
}

/// A problem found while building the tree that does not stop the build (duplicate key,
/// unsupported tag or key); the file's other errors are still collected.
#[derive(Debug, Clone)]
pub(crate) struct TreeIssue {
    pub(crate) path: Vec<Seg>,
    pub(crate) line: usize,
    pub(crate) reason: String,
}

/// The file is not YAML (or not one document); nothing else in it can be checked.
#[derive(Debug, Clone)]
pub(crate) struct SyntaxError {
    pub(crate) line: usize,
    pub(crate) reason: String,
}

/// A parsed file: its root (`None` for an empty file) and the non-fatal issues found.
#[derive(Debug)]
pub(crate) struct ParsedTree {
    pub(crate) root: Option<Node>,
    pub(crate) issues: Vec<TreeIssue>,
}

impl ParsedTree {
    /// Replaces every line number with `map(line)`: for a file rendered from a template, the
    /// template line each rendered line came from. Config load only; linear in the tree.
    pub(crate) fn remap_lines(&mut self, map: &dyn Fn(usize) -> usize) {
        fn node(n: &mut Node, map: &dyn Fn(usize) -> usize) {
            n.line = map(n.line);
            match &mut n.value {
                Value::Scalar(_) => {}
                Value::Seq(items) => items.iter_mut().for_each(|item| node(item, map)),
                Value::Map(entries) => {
                    for entry in entries {
                        entry.line = map(entry.line);
                        node(&mut entry.value, map);
                    }
                }
            }
        }
        if let Some(root) = &mut self.root {
            node(root, map);
        }
        for issue in &mut self.issues {
            issue.line = map(issue.line);
        }
    }
}

enum Frame {
    Seq {
        line: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        line: usize,
        anchor: usize,
        entries: Vec<Entry>,
        /// The key read and waiting for its value; `None` text marks a rejected key whose value
        /// is dropped.
        pending: Option<(Option<String>, usize)>,
        merges: Vec<Node>,
    },
}

/// Parses `text` (one YAML document) into a [`ParsedTree`].
pub(crate) fn parse(text: &str) -> Result<ParsedTree, SyntaxError> {
    let mut builder = Builder::default();
    let mut documents = 0usize;
    // An empty node at the very end (e.g. an explicit `?` key) starts past the last line:
    // errors must point at a line that exists.
    let last_line = last_content_line(text);
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| SyntaxError {
            line: e.marker().line().min(last_line),
            reason: e.info().to_string(),
        })?;
        let line = span.start.line().clamp(1, last_line);
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(SyntaxError {
                        line,
                        reason: "only one YAML document per file is supported".to_string(),
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let scalar = Scalar {
                    text: text.into_owned(),
                    plain: style == ScalarStyle::Plain,
                };
                let scalar = builder.apply_tag(scalar, tag.as_deref(), line);
                builder.complete(
                    Node {
                        line,
                        value: Value::Scalar(scalar),
                    },
                    anchor,
                );
            }
            Event::Alias(id) => {
                let Some(mut node) = builder.anchors.get(&id).cloned() else {
                    return Err(SyntaxError {
                        line,
                        reason: "unknown anchor".to_string(),
                    });
                };
                builder.expanded += node_count(&node);
                if builder.expanded > MAX_ALIAS_EXPANSION {
                    return Err(SyntaxError {
                        line,
                        reason: format!("aliases expand to more than {MAX_ALIAS_EXPANSION} nodes"),
                    });
                }
                node.line = line;
                builder.complete(node, 0);
            }
            Event::SequenceStart(anchor, tag) => {
                builder.check_collection_tag(tag.as_deref(), "seq", line);
                builder.stack.push(Frame::Seq {
                    line,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, tag) => {
                builder.check_collection_tag(tag.as_deref(), "map", line);
                builder.stack.push(Frame::Map {
                    line,
                    anchor,
                    entries: Vec::new(),
                    pending: None,
                    merges: Vec::new(),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => builder.end_collection(),
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
    }
    Ok(ParsedTree {
        root: builder.root,
        issues: builder.issues,
    })
}

/// The last line with something on it. The parser reports what is left open at the end of the
/// file (an unclosed `[`, a quote) at the end-of-file position, often the empty line after the
/// last newline; pointing at the last written line is what helps the author.
fn last_content_line(text: &str) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, _)| index + 1)
        .last()
        .unwrap_or(1)
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    issues: Vec<TreeIssue>,
    /// Nodes copied by aliases so far (see [`MAX_ALIAS_EXPANSION`]).
    expanded: usize,
}

/// Aliases are expanded by copying, so a few nested ones can describe an exponential tree (the
/// "billion laughs" document); a config never needs more than this many copied nodes.
const MAX_ALIAS_EXPANSION: usize = 100_000;

fn node_count(node: &Node) -> usize {
    1 + match &node.value {
        Value::Scalar(_) => 0,
        Value::Seq(items) => items.iter().map(node_count).sum(),
        Value::Map(entries) => entries.iter().map(|e| node_count(&e.value)).sum(),
    }
}

impl Builder {
    /// The key path of the node being read now (used to locate issues).
    fn current_path(&self) -> Vec<Seg> {
        let mut path = Vec::new();
        for frame in &self.stack {
            match frame {
                Frame::Seq { items, .. } => path.push(Seg::Index(items.len())),
                Frame::Map {
                    pending: Some((Some(key), _)),
                    ..
                } => path.push(Seg::Key(key.clone())),
                Frame::Map { .. } => {}
            }
        }
        path
    }

    fn issue(&mut self, path: Vec<Seg>, line: usize, reason: String) {
        self.issues.push(TreeIssue { path, line, reason });
    }

    /// Core-schema tags (`!!str`, `!!int`, ...) are honoured; other tags are reported.
    fn apply_tag(&mut self, mut scalar: Scalar, tag: Option<&Tag>, line: usize) -> Scalar {
        let Some(tag) = tag else { return scalar };
        match (tag.is_yaml_core_schema(), tag.suffix.as_str()) {
            (true, "str") => scalar.plain = false,
            (true, "int" | "float" | "bool" | "null") => scalar.plain = true,
            _ => {
                let path = self.current_path();
                self.issue(path, line, format!("unsupported YAML tag \"{tag}\""));
            }
        }
        scalar
    }

    fn check_collection_tag(&mut self, tag: Option<&Tag>, kind: &str, line: usize) {
        if let Some(tag) = tag
            && !(tag.is_yaml_core_schema() && tag.suffix == kind)
        {
            let path = self.current_path();
            self.issue(path, line, format!("unsupported YAML tag \"{tag}\""));
        }
    }

    fn end_collection(&mut self) {
        let node = match self.stack.pop() {
            Some(Frame::Seq {
                line,
                anchor,
                items,
            }) => (
                Node {
                    line,
                    value: Value::Seq(items),
                },
                anchor,
            ),
            Some(Frame::Map {
                line,
                anchor,
                mut entries,
                merges,
                ..
            }) => {
                for source in merges {
                    for entry in merge_entries(source) {
                        if !entries.iter().any(|e| e.key == entry.key) {
                            entries.push(entry);
                        }
                    }
                }
                (
                    Node {
                        line,
                        value: Value::Map(entries),
                    },
                    anchor,
                )
            }
            None => return,
        };
        self.complete(node.0, node.1);
    }

    /// Attaches a finished node to its parent (as a sequence item, a key or a value).
    fn complete(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let path = self.current_path();
        let issue = match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                None
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                None
            }
            Some(Frame::Map {
                entries,
                pending,
                merges,
                ..
            }) => match pending.take() {
                None => match node.value {
                    Value::Scalar(scalar) => {
                        *pending = Some((Some(scalar.text), node.line));
                        None
                    }
                    _ => {
                        *pending = Some((None, node.line));
                        Some((
                            path,
                            node.line,
                            "only scalar mapping keys are supported".to_string(),
                        ))
                    }
                },
                Some((None, _)) => None,
                Some((Some(key), line)) if key == "<<" => match node.value {
                    Value::Scalar(_) => Some((
                        path,
                        line,
                        "a `<<` merge key needs a mapping or a list of mappings".to_string(),
                    )),
                    _ => {
                        merges.push(node);
                        None
                    }
                },
                Some((Some(key), line)) => {
                    if let Some(first) = entries.iter().find(|e| e.key == key) {
                        let reason = format!(
                            "duplicate key \"{key}\" (first given on line {})",
                            first.line
                        );
                        Some((path, line, reason))
                    } else {
                        entries.push(Entry {
                            key,
                            line,
                            value: node,
                        });
                        None
                    }
                }
            },
        };
        if let Some((path, line, reason)) = issue {
            self.issue(path, line, reason);
        }
    }
}

/// The entries a `<<` value contributes: a mapping, or a sequence of mappings (earlier wins).
fn merge_entries(source: Node) -> Vec<Entry> {
    match source.value {
        Value::Map(entries) => entries,
        Value::Seq(items) => {
            let mut out: Vec<Entry> = Vec::new();
            for item in items {
                if let Value::Map(entries) = item.value {
                    for entry in entries {
                        if !out.iter().any(|e| e.key == entry.key) {
                            out.push(entry);
                        }
                    }
                }
            }
            out
        }
        Value::Scalar(_) => Vec::new(),
    }
}
