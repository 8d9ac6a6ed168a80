//! The plugin runtime: engine, contract bindings, registry, instances, middlewares, chains.
//!
//! Config time: `PluginRegistry` compiles components (cached by content hash) and
//! `PluginMiddleware::configure` validates each middleware's config with its plugin.
//! `PluginMiddleware::configure` also asks a `middleware-with-capabilities` plugin, once, whether
//! it needs its response hook and how much of the response body (`capabilities`).
//! Request time: `Chain::on_request` / `Chain::on_response_with_body` lend the heads (and the
//! body's first bytes, where a middleware asked) to the plugins under each middleware's budget.

mod artifacts;
pub mod bindings;
pub mod body;
mod body_import;
pub mod budget;
pub mod capabilities;
pub mod chain;
pub mod chain_fixed;
mod chain_takes;
mod chain_trace;
mod client_ip_import;
pub mod completion;
pub mod compression_import;
pub mod connection;
pub mod connection_facts;
mod connection_import;
pub mod counters;
mod counters_import;
pub mod edit_list;
pub mod engine;
pub mod epoch_ticker;
pub mod error;
pub mod exports;
mod failure_log;
pub mod fixed_edits;
pub mod grpc_web_import;
mod hashed_key;
pub mod head_edits;
pub mod heads;
pub mod host_state;
pub mod http_wasm;
mod identity_import;
pub mod instance;
pub mod instance_pool;
pub mod kv;
mod kv_import;
pub mod kv_journal;
mod lent;
pub mod limits;
pub mod memo_record;
pub mod middleware;
mod named_scopes;
pub mod outbound;
mod outbound_import;
pub mod outbound_send;
pub mod pinned_files;
pub mod plugin_output;
pub mod pre_take;
pub mod redis_counters;
pub mod redis_kv;
pub mod redis_pool;
pub mod registry;
pub mod remote_take;
pub mod reply;
mod retry_decider;
pub mod snapshot;
pub mod snapshot_memory;
mod undo;
pub mod verdict_memo;
pub mod wasi_stdio;
pub mod wasi_subset;

pub use budget::{Isolation, MiddlewareBudget};
pub use capabilities::{BodyStart, Capabilities, MAX_BODY_PEEK};
pub use chain::{Chain, ChainState, RequestOutcome, ResponseOutcome};
pub use completion::PendingCompletion;
pub use compression_import::{CompressWith, ContentCoding};
pub use connection::{Connection, ConnectionVerdict, MAX_FIRST_BYTES};
pub use connection_facts::ConnectionFacts;
pub use engine::{EngineSettings, PluginEngine};
pub use error::{LoadError, PluginError};
pub use exports::World;
pub use grpc_web_import::{TranslateGrpcWeb, WebMode};
pub use heads::{RawPath, RequestHead, ResponseHead};
pub use middleware::{ConfigureError, PluginMiddleware};
pub use outbound::{Origin, OutboundGrant, Subrequest};
pub use outbound_send::{SubrequestFailure, SubrequestResult, Subresponse};
pub use pinned_files::{PinnedFileError, PinnedFiles};
pub use registry::{CompiledPlugin, PluginRegistry, PluginSource};
pub use reply::ValidReply;
