//! The effects of one `on-request` call of a middleware with a verdict memo (`verdict_memo`),
//! recorded by the host calls as they run: lent with the request head
//! (`RequestHeadFields::memo_record`) for the call, taken back by the chain after it. The
//! request-header edits (`HeaderEdits::set_recorded` and its siblings) and the user named
//! (`identity.set-user`) are recorded; any other call that matters spoils the record
//! (`HostState::not_memoizable`), and a spoiled record is not remembered.

use super::edit_list::Edit;

/// What one call did, in call order.
#[derive(Debug, Default)]
pub struct MemoRecord {
    /// A call that matters and is not recorded was made: nothing is remembered.
    spoiled: bool,
    edits: Vec<Edit>,
    user: Option<std::sync::Arc<str>>,
}

impl MemoRecord {
    /// The call did something a replay would not do.
    pub fn spoil(&mut self) {
        self.spoiled = true;
    }

    /// Whether the call did something a replay would not do.
    pub fn spoiled(&self) -> bool {
        self.spoiled
    }

    /// An edit the call made; `None`: one the host refused (the guest saw an error that may
    /// depend on more than the memo's header), which spoils the record.
    pub fn edit(&mut self, edit: Option<Edit>) {
        match edit {
            Some(edit) => self.edits.push(edit),
            None => self.spoiled = true,
        }
    }

    /// `identity.set-user`: the user the call named.
    pub fn set_user(&mut self, name: &str) {
        self.user = Some(name.into());
    }

    /// The edits and the user, for the memo's entry.
    pub fn into_effects(self) -> (Vec<Edit>, Option<std::sync::Arc<str>>) {
        (self.edits, self.user)
    }
}
