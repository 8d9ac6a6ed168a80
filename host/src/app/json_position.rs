//! serde_json's error positions (`... at line 1 column 24`) in a plugin's refusal of its config
//! mean nothing to the config's author: the JSON is what the gateway made from their YAML. This
//! finds the option such a position falls in, so the refusal can be placed at that option's line
//! instead. Runs on the error path of a load only: one pass over the config JSON.

/// `reason` without a trailing ` at line L column C`, and the column when `L` is 1 (the config
/// JSON the gateway hands plugins is one line).
pub(crate) fn strip_position(reason: &str) -> (&str, Option<usize>) {
    let Some((text, position)) = reason.rsplit_once(" at line ") else {
        return (reason, None);
    };
    let Some((line, column)) = position.split_once(" column ") else {
        return (reason, None);
    };
    match (line.parse::<usize>(), column.parse::<usize>()) {
        (Ok(1), Ok(column)) => (text, Some(column)),
        (Ok(_), Ok(_)) => (text, None),
        _ => (reason, None),
    }
}

enum Frame {
    /// An object: the key read last, and whether its value has started (after `:`).
    Object { key: Option<String>, in_value: bool },
    /// An array: the index of the current item.
    Array { index: usize },
}

/// The option path (keys and indexes) of the value at 1-based `column` of `json`; empty when
/// the column is outside every option.
pub(crate) fn path_at(json: &str, column: usize) -> Vec<String> {
    let target = column.saturating_sub(1);
    let bytes = json.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < bytes.len() && i < target {
        match bytes[i] {
            b'{' => stack.push(Frame::Object {
                key: None,
                in_value: false,
            }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(Frame::Object { in_value, .. }) = stack.last_mut() {
                    *in_value = true;
                }
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { key, in_value }) => {
                    *key = None;
                    *in_value = false;
                }
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            b'"' => {
                let start = i + 1;
                i = start;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object {
                    key,
                    in_value: false,
                }) = stack.last_mut()
                {
                    let raw = json.get(start..i.min(bytes.len())).unwrap_or_default();
                    *key = Some(serde_json::from_str(&format!("\"{raw}\"")).unwrap_or_default());
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = Vec::new();
    for frame in &stack {
        match frame {
            Frame::Object {
                key: Some(key),
                in_value: true,
            } => path.push(key.clone()),
            Frame::Array { index } => path.push(index.to_string()),
            Frame::Object { .. } => break,
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_position_is_cut_from_the_reason() {
        assert_eq!(
            strip_position("invalid type: integer `3`, expected a map at line 1 column 9"),
            ("invalid type: integer `3`, expected a map", Some(9))
        );
        assert_eq!(strip_position("bad port"), ("bad port", None));
    }

    #[test]
    fn a_column_names_the_option_it_falls_in() {
        assert_eq!(path_at(r#"{"keys":3}"#, 9), ["keys"]);
        assert_eq!(path_at(r#"{"status":"not a number"}"#, 24), ["status"]);
        assert_eq!(
            path_at(r#"{"a":{"b":[1,{"c":"x,y"}]},"d":2}"#, 22),
            ["a", "b", "1", "c"]
        );
        assert!(path_at(r#"{"a":1}"#, 1).is_empty());
    }
}
