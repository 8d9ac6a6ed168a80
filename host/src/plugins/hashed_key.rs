//! A key hashed once for the sharded in-process stores (`counters`, `kv`): the one hash picks the
//! key's shard and finds its entry in the shard's `hashbrown::HashTable`, so a store call hashes
//! the key once, however many look-ups, inserts and removals it makes.
//!
//! The hash is SipHash keyed per scope (std's `RandomState`), so a client cannot aim keys at one
//! shard or one slot. Runs on every store call: one SipHash of the key (tens of instructions for
//! a short key); nothing is allocated.

use std::hash::{BuildHasher, RandomState};

/// One scope's key hasher, drawn at random when the scope is made.
#[derive(Default)]
pub(super) struct KeyHasher(RandomState);

impl KeyHasher {
    pub(super) fn hash<'k>(&self, key: &'k str) -> Hashed<'k> {
        Hashed {
            key,
            hash: self.0.hash_one(key),
        }
    }

    /// The hash a table entry's key had when it went in (a table regrowing asks for it): the
    /// same hasher as [`KeyHasher::hash`], or keys stop finding their entries after a regrow.
    pub(super) fn rehash<V>(&self) -> impl Fn(&(Box<str>, V)) -> u64 + '_ {
        |(k, _)| self.0.hash_one(&**k)
    }
}

/// A key and its hash under its scope's [`KeyHasher`].
#[derive(Clone, Copy)]
pub(super) struct Hashed<'k> {
    pub(super) key: &'k str,
    pub(super) hash: u64,
}

impl<'k> Hashed<'k> {
    /// The shard among `shards`: bits 32 and up of the hash, apart from the low bits a table
    /// indexes by and the top seven it tags slots with, so the keys of one shard still spread
    /// over its table.
    pub(super) fn shard_index(self, shards: usize) -> usize {
        ((self.hash >> 32) as usize) % shards
    }

    /// Whether a table entry is this key's.
    pub(super) fn is<V>(self) -> impl Fn(&(Box<str>, V)) -> bool + 'k {
        move |(k, _)| **k == *self.key
    }
}
