//! Finished spans on their way out, off the request path: the SDK hands every ended, sampled
//! span to [`QueueProcessor::on_end`] (on the request's thread), which pushes it into a bounded
//! lock-free queue and returns; when the queue is full the span is dropped and counted, so a
//! request never waits for the collector. One tokio task drains the queue in batches and posts
//! each batch with the OTLP/HTTP exporter (`opentelemetry-otlp`, protobuf), one export at a
//! time.
//!
//! Sizes and delay follow the OpenTelemetry batch processor's environment variables and
//! defaults: `OTEL_BSP_MAX_QUEUE_SIZE` (2048 spans), `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` (512),
//! `OTEL_BSP_SCHEDULE_DELAY` (5000 ms: the longest a span waits for a batch to fill).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_queue::ArrayQueue;
use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use tokio::sync::Notify;

/// The batch limits in force (from the environment, else the OpenTelemetry defaults).
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub queue: usize,
    pub batch: usize,
    pub delay: Duration,
}

impl BatchLimits {
    /// Read once at start-up.
    pub fn from_env() -> BatchLimits {
        let number = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|&n| n > 0)
                .unwrap_or(default)
        };
        let queue = number("OTEL_BSP_MAX_QUEUE_SIZE", 2048) as usize;
        let batch = (number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512) as usize).min(queue);
        let delay = Duration::from_millis(number("OTEL_BSP_SCHEDULE_DELAY", 5000));
        BatchLimits {
            queue,
            batch,
            delay,
        }
    }
}

/// The queue between the request threads and the export task.
#[derive(Debug)]
struct Shared {
    spans: ArrayQueue<SpanData>,
    /// Wakes the task early when a batch is full, or to flush at shutdown.
    wake: Notify,
    /// Spans dropped because the queue was full (or tracing was shutting down).
    dropped: AtomicU64,
    /// Spans handed to the exporter whose export failed.
    failed: AtomicU64,
    closed: AtomicBool,
    batch: usize,
}

/// The SDK side: registered on the tracer provider.
#[derive(Debug, Clone)]
pub struct QueueProcessor {
    shared: Arc<Shared>,
}

/// The task side, and what the gateway asks of it (drops counted, the last flush at shutdown).
#[derive(Debug)]
pub struct ExportTask {
    shared: Arc<Shared>,
    done: Notify,
    finished: AtomicBool,
}

/// Starts the export task (inside the tokio runtime) and returns both ends.
pub fn start<E>(exporter: E, limits: BatchLimits) -> (QueueProcessor, Arc<ExportTask>)
where
    E: SpanExporter + 'static,
{
    let shared = Arc::new(Shared {
        spans: ArrayQueue::new(limits.queue),
        wake: Notify::new(),
        dropped: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        closed: AtomicBool::new(false),
        batch: limits.batch,
    });
    let task = Arc::new(ExportTask {
        shared: shared.clone(),
        done: Notify::new(),
        finished: AtomicBool::new(false),
    });
    tokio::spawn(run(exporter, task.clone(), limits));
    (QueueProcessor { shared }, task)
}

async fn run<E: SpanExporter>(exporter: E, task: Arc<ExportTask>, limits: BatchLimits) {
    let shared = &task.shared;
    loop {
        let closing = shared.closed.load(Ordering::Acquire);
        if !closing && shared.spans.len() < shared.batch {
            // A full batch or the close wakes the task early; otherwise the delay does.
            let _ = tokio::time::timeout(limits.delay, shared.wake.notified()).await;
        }
        let closing = shared.closed.load(Ordering::Acquire);
        while !shared.spans.is_empty() {
            let mut batch = Vec::with_capacity(shared.spans.len().min(shared.batch));
            while batch.len() < shared.batch
                && let Some(span) = shared.spans.pop()
            {
                batch.push(span);
            }
            let count = batch.len() as u64;
            if let Err(e) = exporter.export(batch).await {
                shared.failed.fetch_add(count, Ordering::Relaxed);
                tracing::warn!("tracing: {count} span(s) not exported: {e}");
            }
            if shared.spans.len() < shared.batch && !closing {
                break;
            }
        }
        if closing {
            break;
        }
    }
    task.finished.store(true, Ordering::Release);
    task.done.notify_waiters();
}

impl ExportTask {
    /// Spans dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Spans whose export failed so far.
    pub fn failed(&self) -> u64 {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// Exports what is queued and stops the task, waiting at most `limit`. At shutdown, after
    /// the last request.
    pub async fn close(&self, limit: Duration) {
        let done = self.done.notified();
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        if !self.finished.load(Ordering::Acquire) {
            let _ = tokio::time::timeout(limit, done).await;
        }
    }
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    /// On the thread that ended the span: one push, and a wake-up when a batch is ready.
    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let shared = &self.shared;
        if shared.closed.load(Ordering::Relaxed) || shared.spans.push(span).is_err() {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if shared.spans.len() >= shared.batch {
            shared.wake.notify_one();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.shared.wake.notify_one();
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        Ok(())
    }
}
