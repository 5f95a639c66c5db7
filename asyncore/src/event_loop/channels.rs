//! The map as the loop's owner sees it: adding channels, reaching them by
//! token, counting them.

use super::EventLoop;
use crate::core::entry;
use crate::cx::{services::with_dispatcher, Cx};
use crate::dispatcher::Dispatcher;
use crate::token::Token;
use std::any::Any;

impl<S: 'static> EventLoop<S> {
    /// Adds a channel and returns its [`Cx`], to attach a socket with
    /// `create_socket`/`set_socket`/`adopt` (asyncore's constructor). Until
    /// then the channel is not in the map.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::{Dispatcher, EventLoop, AF_INET, SOCK_DGRAM};
    /// struct Idle;
    /// impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(AF_INET, SOCK_DGRAM)?;
    /// assert_eq!(ev.len(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    // Spec: AC-MAP-6.
    pub fn add<D: Dispatcher<S>>(&mut self, dispatcher: D) -> Cx<'_, S> {
        self.settle();
        let token = self.core.map.insert_lent();
        self.nursery.hold(&mut self.core, token, entry(dispatcher))
    }

    /// The [`Cx`] of a live channel, to call socket methods from outside the
    /// loop. The channel's interest is re-asked on the next pass.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Idle).token();
    /// assert!(!ev.channel(t).unwrap().connected());
    /// ```
    pub fn channel(&mut self, token: Token) -> Option<Cx<'_, S>> {
        self.settle();
        let index = self.core.map.resolve(token)?;
        let (taken, _) = self.core.map.lend(index)?;
        Some(self.nursery.hold(&mut self.core, token, taken))
    }

    /// Runs `f` on a channel's dispatcher (of type `D`) and its `Cx`; `None`
    /// if the token is stale or the type differs.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop};
    /// struct Named(&'static str);
    /// impl Dispatcher for Named {}
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Named("a")).token();
    /// assert_eq!(ev.with(t, |n: &mut Named, _cx| n.0), Some("a"));
    /// ```
    pub fn with<D: Dispatcher<S>, R>(
        &mut self,
        token: Token,
        f: impl FnOnce(&mut D, &mut Cx<'_, S>) -> R,
    ) -> Option<R> {
        with_dispatcher(&mut self.core, &mut self.nursery, token, f)
    }

    /// A shared reference to a channel's dispatcher, if it is a `D`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop};
    /// struct Named(&'static str);
    /// impl Dispatcher for Named {}
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Named("a")).token();
    /// assert_eq!(ev.dispatcher::<Named>(t).map(|n| n.0), Some("a"));
    /// ```
    pub fn dispatcher<D: Dispatcher<S>>(&self, token: Token) -> Option<&D> {
        let index = self.core.map.resolve(token)?;
        let entry = match self.nursery.get(index) {
            Some(held) => held,
            None => self.core.map.get(index)?,
        };
        let any: &dyn Any = &entry.disp;
        any.downcast_ref::<D>()
    }

    /// Whether `token` names a channel this loop still holds (open, or closed
    /// but not yet freed, or socketless).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Idle).token();
    /// assert!(ev.contains(t));
    /// ```
    pub fn contains(&self, token: Token) -> bool {
        self.core.map.resolve(token).is_some()
    }

    /// How many channels are in the map (have an open descriptor).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(asyncore_loop::EventLoop::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.core.map.registered()
    }

    /// Whether the map is empty (the loop would return at once).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(asyncore_loop::EventLoop::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
