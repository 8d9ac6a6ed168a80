//! The last configuration loads (start-up and reloads), accepted or refused with their
//! `file:line: key: reason` lines, for `/api/reloads`. Recorded by `app` when a load ends (a
//! mutex held for a push, never on the request path).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::SystemTime;

use serde_json::{Value, json};

/// Loads kept, newest first.
const KEPT: usize = 50;

static HISTORY: Mutex<VecDeque<Value>> = Mutex::new(VecDeque::new());

/// Records a load: what triggered it (`start-up`, `file change`, `SIGHUP`...), whether it was
/// applied, and its errors when refused.
pub fn record_reload(trigger: &str, accepted: bool, errors: &[String]) {
    let entry = json!({
        "at": super::super::timefmt::rfc3339_utc(SystemTime::now()),
        "trigger": trigger,
        "accepted": accepted,
        "errors": errors,
    });
    let mut history = HISTORY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    history.push_front(entry);
    history.truncate(KEPT);
}

/// The recorded loads, newest first.
pub fn history() -> Vec<Value> {
    let history = HISTORY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    history.iter().cloned().collect()
}
