//! An ordered header list with the host's edit rules, shared by the request and response doubles.

use crate::EditError;
use crate::rules::{check_header_name, check_header_value};

pub(crate) type Fields = Vec<(String, Vec<u8>)>;

pub(crate) fn get(fields: &Fields, name: &str) -> Option<Vec<u8>> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

pub(crate) fn get_all(fields: &Fields, name: &str) -> Vec<Vec<u8>> {
    fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .collect()
}

fn count(fields: &Fields, name: &str) -> usize {
    fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .count()
}

/// Replace every value of `name` with `value`, keeping the position of the first one (as the
/// host's header map does); a new name goes last. Refused if the head would then hold more than
/// `max_headers` values.
pub(crate) fn set(
    fields: &mut Fields,
    max_headers: usize,
    name: &str,
    value: &[u8],
) -> Result<(), EditError> {
    check_header_name(name)?;
    check_header_value(value)?;
    if fields.len() - count(fields, name) + 1 > max_headers {
        return Err(EditError::LimitExceeded);
    }
    let first = fields
        .iter()
        .position(|(n, _)| n.eq_ignore_ascii_case(name));
    match first {
        Some(index) => {
            fields[index].1 = value.to_vec();
            let mut seen = 0usize;
            fields.retain(|(n, _)| {
                let same = n.eq_ignore_ascii_case(name);
                seen += usize::from(same);
                !same || seen == 1
            });
        }
        None => fields.push((name.to_ascii_lowercase(), value.to_vec())),
    }
    Ok(())
}

/// Add a value after the existing ones; refused past `max_headers` values in the head.
pub(crate) fn append(
    fields: &mut Fields,
    max_headers: usize,
    name: &str,
    value: &[u8],
) -> Result<(), EditError> {
    check_header_name(name)?;
    check_header_value(value)?;
    if fields.len() + 1 > max_headers {
        return Err(EditError::LimitExceeded);
    }
    fields.push((name.to_ascii_lowercase(), value.to_vec()));
    Ok(())
}

pub(crate) fn remove(fields: &mut Fields, name: &str) {
    fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
}

/// For the builders: a header the host could never present is a mistake in the test itself.
/// The budget does not apply: it bounds a plugin's edits, not what the client sent.
#[track_caller]
pub(crate) fn build(fields: &mut Fields, name: &str, value: &[u8]) {
    if let Err(e) = append(fields, usize::MAX, name, value) {
        panic!(
            "test head: header {name:?} = {value:?}: {e} (the gateway never presents such a head)"
        );
    }
}
