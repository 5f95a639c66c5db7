//! Lending entries to a `Cx`: to a running handler ([`run`]), and to a
//! `Cx` that sets a channel up ([`Nursery`]).
//!
//! A `Cx` always holds its channel's state in hand, so its entry is out of
//! its slot while the `Cx` lives. A handler's entry goes back when the
//! handler returns. A channel being set up (`EventLoop::add`,
//! `EventLoop::channel`, `Cx::add`) waits in a nursery link and goes back
//! when the loop is next used, when the handler that made it returns, or
//! when its parent `Cx` reaches the map again. The links form a chain
//! because a channel being set up can add one itself (`ev.add(a).add(b)`):
//! each `Cx` owns the link its own children will use. A deeper link holds
//! an entry only while the links above it do, so settling stops at the first
//! empty link.

use super::Cx;
use crate::core::{BoxedEntry, Entry, LoopCore};
use crate::dispatcher::Dispatcher;
use crate::handler_name::HandlerName;
use crate::token::Token;

pub(crate) struct Nursery<S: 'static> {
    held: Option<(u32, BoxedEntry<S>)>,
    next: Option<Box<Nursery<S>>>,
}

impl<S: 'static> Default for Nursery<S> {
    fn default() -> Self {
        Nursery {
            held: None,
            next: None,
        }
    }
}

impl<S: 'static> Nursery<S> {
    /// Puts every held entry back into its slot, to be asked for its interest.
    #[inline]
    pub(crate) fn settle(&mut self, core: &mut LoopCore<S>) {
        if self.held.is_some() {
            self.settle_chain(core);
        }
    }

    fn settle_chain(&mut self, core: &mut LoopCore<S>) {
        let mut link = Some(self);
        while let Some(n) = link {
            let Some((index, entry)) = n.held.take() else {
                break;
            };
            core.restore(index, entry);
            link = n.next.as_deref_mut();
        }
    }

    /// Holds `entry` (out of its slot, named by `token`) and gives a `Cx` for it.
    pub(crate) fn hold<'a>(
        &'a mut self,
        core: &'a mut LoopCore<S>,
        token: Token,
        entry: BoxedEntry<S>,
    ) -> Cx<'a, S> {
        self.settle(core);
        let Nursery { held, next } = self;
        let (_, entry) = held.insert((token.index, entry));
        // Set-up is outside any handler call.
        entry.ch.handler_name = HandlerName::None;
        let next = next.get_or_insert_with(Box::default);
        Cx::new(&mut entry.ch, core, next, token)
    }

    /// A held entry, by slot.
    pub(crate) fn get(&self, index: u32) -> Option<&BoxedEntry<S>> {
        let mut link = Some(self);
        while let Some(n) = link {
            match &n.held {
                Some((i, entry)) if *i == index => return Some(entry),
                Some(_) => link = n.next.as_deref(),
                None => return None,
            }
        }
        None
    }
}

/// Runs `f` with channel `index`'s dispatcher and `Cx`; the entry is out of
/// its slot for the call, and its interest is asked again before the next
/// wait. Channels the handler added join the map when it returns. `None` if
/// the channel is gone or already out (running, or being set up).
#[inline(always)]
pub(crate) fn run<S: 'static, R>(
    core: &mut LoopCore<S>,
    nursery: &mut Nursery<S>,
    index: u32,
    f: impl FnOnce(&mut dyn Dispatcher<S>, &mut Cx<'_, S>) -> R,
) -> Option<R> {
    nursery.settle(core);
    let (mut entry, token) = core.map.lend(index)?;
    let Entry { ch, disp } = &mut *entry;
    // No handler named yet (`invoke` names it; `with` runs none): not the
    // name of the channel's last handler.
    ch.handler_name = HandlerName::None;
    let r = f(disp, &mut Cx::new(ch, core, nursery, token));
    core.restore(index, entry);
    nursery.settle(core);
    Some(r)
}
