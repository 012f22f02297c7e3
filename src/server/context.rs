//! The context vg's server code runs in: which logged request a task is handling, and whether the
//! thread is inside vg's own connection code.
//!
//! A leaf below both the store and the taps: the emitter reads the current request's id to tag
//! entries, the request layer sets it, the tracing bridge reads the "inside vg" mark. Keeping it here
//! (not in the request layer) is what lets the store not depend on the taps built on top of it.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::model::{Meta, REQUEST_ID_KEY};

tokio::task_local! {
    static CURRENT_REQUEST: RequestId;
}

/// The id of the request being handled; in the request's extensions and, while the request's future
/// runs, available from [`RequestId::current`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(Arc<str>);

impl From<Arc<str>> for RequestId {
    fn from(id: Arc<str>) -> Self {
        RequestId(id)
    }
}

impl RequestId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the logged request whose future is running now, if any.
    pub fn current() -> Option<RequestId> {
        CURRENT_REQUEST.try_with(Clone::clone).ok()
    }

    /// Runs `future` as the handling of this request: entries emitted while it is polled get the id.
    pub(crate) fn scope<F: Future>(
        self,
        future: F,
    ) -> tokio::task::futures::TaskLocalFuture<RequestId, F> {
        CURRENT_REQUEST.scope(self, future)
    }
}

/// Adds the id of the request being handled to `meta`, unless it has a `requestId` already. The
/// emitter calls it for every entry, so whatever an app logs while handling a request (through
/// `tracing` or `emit`) can be found by the request's id. Outside a request it costs one
/// thread-local lookup.
pub(crate) fn add_current_request_id(meta: &mut Meta) {
    let _ = CURRENT_REQUEST.try_with(|id| {
        if !meta.contains_key(REQUEST_ID_KEY) {
            meta.insert(REQUEST_ID_KEY, id.as_str());
        }
    });
}

/// Put this in the request's extensions (from an auth middleware outside the layer) or the
/// response's (from one inside it, or the handler) to log who made the request as `userId`; the
/// response's wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserId(pub String);

/// Marks a response the layer does not log: the gateway's own endpoints put it on theirs, so an app
/// that puts the layer over the merged gateway logs its own requests (and its 404s), not every
/// viewer's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NotLogged;

thread_local! {
    /// Set while vg's own connection code runs on this thread.
    static INSIDE_VG: Cell<bool> = const { Cell::new(false) };
}

pin_project_lite::pin_project! {
    /// Polls the inner future with the thread marked as "inside vg", so the bridge ignores events
    /// raised meanwhile (by vg or by the socket libraries under it).
    pub(crate) struct Quiet<F> {
        #[pin]
        inner: F,
    }
}

impl<F> Quiet<F> {
    pub(crate) fn new(inner: F) -> Quiet<F> {
        Quiet { inner }
    }
}

impl<F: Future> Future for Quiet<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        /// Restores the flag even if the inner poll panics.
        struct Restore(bool);
        impl Drop for Restore {
            fn drop(&mut self) {
                INSIDE_VG.set(self.0);
            }
        }
        let _restore = Restore(INSIDE_VG.replace(true));
        self.project().inner.poll(cx)
    }
}

/// Marks the calling thread as vg's own for the rest of its life: a sink's thread, whose `tracing`
/// events (its own, or its client library's) must not become entries that come back to it.
pub(crate) fn mark_thread_as_vg() {
    INSIDE_VG.set(true);
}

/// Whether this thread is polling vg's own connection code right now (see [`Quiet`]), or is one
/// of vg's own threads.
pub(crate) fn inside_vg() -> bool {
    INSIDE_VG.get()
}
