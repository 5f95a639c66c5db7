//! The dispatcher as the map stores it.
//!
//! A channel's dispatcher sits in the map as `dyn StoredDispatcher`: the
//! user's [`Dispatcher`] plus one entry compiled for the dispatcher's own
//! type, the interest question. Through it `readable()` and `writable()`
//! are one virtual call, not two, wherever the pass asks a channel's
//! interest (`ask` in `pass.rs`). Everything else reaches the dispatcher
//! as a `Dispatcher` (the trait upcast); the deadline check asks through
//! the same rule ([`interest_of`]).

use crate::dispatcher::Dispatcher;
use crate::view::View;

/// The map's view of a dispatcher: [`Dispatcher`] plus its interest
/// question compiled per dispatcher type.
pub(crate) trait StoredDispatcher<S: 'static>: Dispatcher<S> {
    /// `readable()` (not asked after end of stream: a read event would only
    /// repeat it) and `writable()`, in that order.
    fn interest(&self, view: &View<'_, S>, read_eof: bool) -> (bool, bool);
}

impl<S: 'static, D: Dispatcher<S>> StoredDispatcher<S> for D {
    #[inline]
    fn interest(&self, view: &View<'_, S>, read_eof: bool) -> (bool, bool) {
        interest_of(self, view, read_eof)
    }
}

/// The interest rule, for the pass and for the deadline check (whose read
/// deadline applies only while the loop waits to read).
#[inline(always)]
pub(crate) fn interest_of<S: 'static, D: Dispatcher<S> + ?Sized>(
    d: &D,
    view: &View<'_, S>,
    read_eof: bool,
) -> (bool, bool) {
    let r = !read_eof && d.readable(view);
    (r, d.writable(view))
}
