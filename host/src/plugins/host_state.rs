//! The data every plugin store carries, and the host side of the imports (`log`, `clock`, `http`).
//!
//! One `HostState` per instance. Host calls are synchronous and cheap: a slot lookup (`lent`)
//! and a header-map operation; nothing here blocks or allocates unless the guest asks for data.

use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Instant;

use wasmtime::component::Resource;

use super::bindings::wasmgate::plugin::{clock, http as wit_http, log, types};
use super::bindings::{EditError, LogLevel};
use super::counters::CounterScope;
use super::head_edits::HeaderEdits;
use super::heads::{RequestHead, ResponseHead};
use super::lent::LentHeads;
use super::limits::MemoryCap;
use super::plugin_output::{OutputBudget, PluginOutput, Stream, Writer};

/// Who this instance is, for log lines and errors.
#[derive(Debug, Clone)]
pub struct PluginIdentity {
    /// The middleware name from config.
    pub middleware: Arc<str>,
    /// The plugin (component) name.
    pub plugin: Arc<str>,
    /// Short content hash of the component.
    pub hash: Arc<str>,
    /// How much of its stdout/stderr the middleware may still log (shared by its instances).
    pub output_budget: Arc<OutputBudget>,
}

pub struct HostState {
    /// The heads lent for the current hook call.
    pub(crate) heads: LentHeads,
    pub(crate) memory: MemoryCap,
    pub(crate) identity: PluginIdentity,
    /// The middleware's counters, when its config grants `counters` (`counters_import`).
    pub(crate) counters: Option<Arc<CounterScope>>,
    /// The Redis backend of its token buckets, when its config names one (`counters_import`).
    pub(crate) redis_counters: Option<Arc<super::redis_counters::RedisCounters>>,
    /// The longest an in-process `take` may delay the request instead of refusing it (ns).
    pub(crate) take_max_wait_ns: u64,
    /// The middleware's `outbound-http` grant (`outbound_import`).
    pub(crate) outbound: Option<Arc<super::outbound::OutboundGrant>>,
    /// The middleware's `body` grant (`body_import`).
    pub(crate) body: Option<super::body::BodyGrant>,
    /// Whether the middleware's config grants `compression` (`compression_import`).
    pub(crate) compression: bool,
    /// The middleware's store, when its config grants `kv` (`kv_import`).
    pub(crate) kv: Option<Arc<super::kv::KvScope>>,
    /// Whether that store lives in Redis (`redis_kv`): calls go to the lent journal.
    pub(crate) redis_kv: bool,
    /// During an `on-complete` call of a Redis-backed middleware only: the journal that
    /// answers its `kv` calls (`kv_journal`; request hooks use the request head's).
    pub(crate) kv_journal: Option<Box<super::kv_journal::KvJournal>>,
    /// Unfinished stdout/stderr lines (`wasi_stdio`).
    pub(crate) output: PluginOutput,
    /// During an `on-connect` call only: the in-flight counts the connection took
    /// (`counters.acquire-in-flight`), held by the connection once the call returns
    /// (`connection`).
    pub(crate) connection_leases: Option<Vec<super::counters::InFlightLease>>,
    /// Whether the guest drew randomness (`wasi:random` bytes or numbers; not the hash seed):
    /// an instance whose `init` did gets no per-request snapshot (`snapshot`).
    pub(crate) drew_random: bool,
}

impl HostState {
    pub fn new(identity: PluginIdentity, memory_limit: u64) -> Self {
        HostState {
            heads: LentHeads::default(),
            memory: MemoryCap::new(memory_limit),
            identity,
            counters: None,
            redis_counters: None,
            take_max_wait_ns: 0,
            outbound: None,
            body: None,
            compression: false,
            kv: None,
            redis_kv: false,
            kv_journal: None,
            output: PluginOutput::default(),
            connection_leases: None,
            drew_random: false,
        }
    }

    /// A host call a verdict memo cannot replay was made: the current `on-request` call, if it
    /// is being recorded (`verdict_memo`), is not remembered. One branch for every other call.
    pub(crate) fn not_memoizable(&mut self) {
        if let Ok(head) = self.heads.current_request_mut()
            && let Some(record) = head.memo_record.as_deref_mut()
        {
            record.spoil();
        }
    }

    /// Bytes the guest wrote to its stdout or stderr (`wasi_stdio`): logged line by line.
    pub(crate) fn write_output(&mut self, stream: Stream, bytes: &[u8]) {
        self.not_memoizable();
        let id = &self.identity;
        let who = Writer {
            middleware: &id.middleware,
            plugin: &id.plugin,
            hash: &id.hash,
        };
        self.output.write(&id.output_budget, who, stream, bytes);
    }
}

/// Nanoseconds on the process-wide monotonic clock (`clock.monotonic-now`, and WASI's
/// `monotonic-clock.now`): one origin for every instance and plugin version.
pub(crate) fn monotonic_nanos() -> u64 {
    u64::try_from(clock_origin().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The process-wide origin of `monotonic-now`.
fn clock_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

impl types::Host for HostState {}

impl log::Host for HostState {
    fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        self.not_memoizable();
        let id = &self.identity;
        let (mw, plugin, hash) = (&*id.middleware, &*id.plugin, &*id.hash);
        match level {
            LogLevel::Trace => tracing::trace!(middleware = mw, plugin, hash, "{message}"),
            LogLevel::Debug => tracing::debug!(middleware = mw, plugin, hash, "{message}"),
            LogLevel::Info => tracing::info!(middleware = mw, plugin, hash, "{message}"),
            LogLevel::Warn => tracing::warn!(middleware = mw, plugin, hash, "{message}"),
            LogLevel::Error => tracing::error!(middleware = mw, plugin, hash, "{message}"),
        }
        Ok(())
    }
}

impl clock::Host for HostState {
    fn monotonic_now(&mut self) -> wasmtime::Result<u64> {
        Ok(monotonic_nanos())
    }
}

impl wit_http::Host for HostState {}

type EditResult = wasmtime::Result<Result<(), EditError>>;

impl wit_http::HostRequest for HostState {
    fn method(&mut self, r: Resource<RequestHead>) -> wasmtime::Result<String> {
        Ok(self.heads.request(&r)?.parts.method.as_str().to_owned())
    }
    fn scheme(&mut self, r: Resource<RequestHead>) -> wasmtime::Result<String> {
        Ok(self.heads.request(&r)?.scheme().to_owned())
    }
    fn authority(&mut self, r: Resource<RequestHead>) -> wasmtime::Result<Option<String>> {
        Ok(self.heads.request(&r)?.authority())
    }
    fn path(&mut self, r: Resource<RequestHead>) -> wasmtime::Result<String> {
        Ok(self.heads.request(&r)?.path().to_owned())
    }
    fn raw_path(&mut self, r: Resource<RequestHead>) -> wasmtime::Result<String> {
        Ok(self.heads.request(&r)?.raw_path.as_str().to_owned())
    }
    fn query(&mut self, r: Resource<RequestHead>) -> wasmtime::Result<Option<String>> {
        Ok(self.heads.request(&r)?.query().map(str::to_owned))
    }
    fn set_path(&mut self, r: Resource<RequestHead>, path: String) -> EditResult {
        self.not_memoizable();
        Ok(self.heads.request_mut(&r)?.set_path(&path))
    }
    fn set_query(&mut self, r: Resource<RequestHead>, query: Option<String>) -> EditResult {
        self.not_memoizable();
        Ok(self.heads.request_mut(&r)?.set_query(query.as_deref()))
    }
    fn header(
        &mut self,
        r: Resource<RequestHead>,
        name: String,
    ) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(HeaderEdits::get(
            &self.heads.request(&r)?.parts.headers,
            &name,
        ))
    }
    fn header_all(
        &mut self,
        r: Resource<RequestHead>,
        name: String,
    ) -> wasmtime::Result<Vec<Vec<u8>>> {
        Ok(HeaderEdits::get_all(
            &self.heads.request(&r)?.parts.headers,
            &name,
        ))
    }
    fn headers(&mut self, r: Resource<RequestHead>) -> wasmtime::Result<Vec<(String, Vec<u8>)>> {
        Ok(HeaderEdits::all(&self.heads.request(&r)?.parts.headers))
    }
    fn set_header(&mut self, r: Resource<RequestHead>, name: String, value: Vec<u8>) -> EditResult {
        let head = self.heads.request_mut(&r)?;
        let (headers, max) = (&mut head.parts.headers, head.max_headers);
        Ok(match head.memo_record.as_deref_mut() {
            None => HeaderEdits::set(headers, max, &name, value),
            Some(record) => HeaderEdits::set_recorded(headers, max, &name, value, record),
        })
    }
    fn append_header(
        &mut self,
        r: Resource<RequestHead>,
        name: String,
        value: Vec<u8>,
    ) -> EditResult {
        let head = self.heads.request_mut(&r)?;
        let (headers, max) = (&mut head.parts.headers, head.max_headers);
        Ok(match head.memo_record.as_deref_mut() {
            None => HeaderEdits::append(headers, max, &name, value),
            Some(record) => HeaderEdits::append_recorded(headers, max, &name, value, record),
        })
    }
    fn remove_header(&mut self, r: Resource<RequestHead>, name: String) -> wasmtime::Result<()> {
        let head = self.heads.request_mut(&r)?;
        match head.memo_record.as_deref_mut() {
            None => HeaderEdits::remove(&mut head.parts.headers, &name),
            Some(record) => HeaderEdits::remove_recorded(&mut head.parts.headers, &name, record),
        }
        Ok(())
    }
    fn client_addr(&mut self, r: Resource<RequestHead>) -> wasmtime::Result<String> {
        Ok(self.heads.request(&r)?.client_addr_text())
    }
    fn is_tls(&mut self, r: Resource<RequestHead>) -> wasmtime::Result<bool> {
        Ok(self.heads.request(&r)?.tls)
    }
    fn router_name(&mut self, r: Resource<RequestHead>) -> wasmtime::Result<String> {
        Ok(self.heads.request(&r)?.router.to_string())
    }
    fn get_state(&mut self, r: Resource<RequestHead>) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(self.heads.request(&r)?.state())
    }
    fn set_state(&mut self, r: Resource<RequestHead>, value: Vec<u8>) -> EditResult {
        self.not_memoizable();
        Ok(self.heads.request_mut(&r)?.set_state(value))
    }
    /// Heads are owned by the host and lent as borrows; a guest never owns one, so a drop is
    /// only ever the host's own bookkeeping and the head is taken back by the caller.
    fn drop(&mut self, _r: Resource<RequestHead>) -> wasmtime::Result<()> {
        Ok(())
    }
}

impl wit_http::HostResponse for HostState {
    fn status(&mut self, r: Resource<ResponseHead>) -> wasmtime::Result<u16> {
        Ok(self.heads.response(&r)?.parts.status.as_u16())
    }
    fn set_status(&mut self, r: Resource<ResponseHead>, status: u16) -> EditResult {
        Ok(self.heads.response_mut(&r)?.set_status(status))
    }
    fn header(
        &mut self,
        r: Resource<ResponseHead>,
        name: String,
    ) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(HeaderEdits::get(
            &self.heads.response(&r)?.parts.headers,
            &name,
        ))
    }
    fn header_all(
        &mut self,
        r: Resource<ResponseHead>,
        name: String,
    ) -> wasmtime::Result<Vec<Vec<u8>>> {
        Ok(HeaderEdits::get_all(
            &self.heads.response(&r)?.parts.headers,
            &name,
        ))
    }
    fn headers(&mut self, r: Resource<ResponseHead>) -> wasmtime::Result<Vec<(String, Vec<u8>)>> {
        Ok(HeaderEdits::all(&self.heads.response(&r)?.parts.headers))
    }
    fn set_header(
        &mut self,
        r: Resource<ResponseHead>,
        name: String,
        value: Vec<u8>,
    ) -> EditResult {
        let head = self.heads.response_mut(&r)?;
        Ok(HeaderEdits::set(
            &mut head.parts.headers,
            head.max_headers,
            &name,
            value,
        ))
    }
    fn append_header(
        &mut self,
        r: Resource<ResponseHead>,
        name: String,
        value: Vec<u8>,
    ) -> EditResult {
        let head = self.heads.response_mut(&r)?;
        Ok(HeaderEdits::append(
            &mut head.parts.headers,
            head.max_headers,
            &name,
            value,
        ))
    }
    fn remove_header(&mut self, r: Resource<ResponseHead>, name: String) -> wasmtime::Result<()> {
        HeaderEdits::remove(&mut self.heads.response_mut(&r)?.parts.headers, &name);
        Ok(())
    }
    fn drop(&mut self, _r: Resource<ResponseHead>) -> wasmtime::Result<()> {
        Ok(())
    }
}
