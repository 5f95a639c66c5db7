//! The room: who is here (nickname → channel), kept in the loop's shared
//! state so every member's hooks can reach it.

use asyncore_loop::Token;
use std::collections::{BTreeMap, BTreeSet};

/// The longest nickname, in characters.
pub const MAX_NICK: usize = 32;

/// The chat room: the members by nickname, and every open connection
/// (members and those still choosing a nickname). It is the server's
/// [`EventLoop`](asyncore_loop::EventLoop) state.
///
/// Nicknames are unique regardless of ASCII case (`Bob` and `bob` cannot
/// both be here); each keeps the spelling its owner chose.
///
/// # Examples
///
/// ```
/// use asyncore_cli::chat::Room;
/// let room = Room::default();
/// assert!(room.is_empty());
/// assert_eq!((room.len(), room.connections()), (0, 0));
/// assert!(!room.contains("alice"));
/// assert_eq!(room.nicks(), Vec::<String>::new());
/// assert!(!room.is_closing());
/// ```
#[derive(Debug, Default)]
pub struct Room {
    /// Lower-cased nickname → (nickname as chosen, channel).
    members: BTreeMap<String, (String, Token)>,
    /// Every open connection.
    conns: BTreeSet<Token>,
    /// A graceful shutdown began: no more join/leave announcements.
    closing: bool,
}

impl Room {
    /// How many members (connections with a nickname).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether nobody has joined.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// How many connections are open, members or not.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Whether `nick` is taken (ignoring ASCII case).
    pub fn contains(&self, nick: &str) -> bool {
        self.members.contains_key(&nick.to_ascii_lowercase())
    }

    /// The members' nicknames, sorted ignoring case.
    pub fn nicks(&self) -> Vec<String> {
        self.members.values().map(|(n, _)| n.clone()).collect()
    }

    /// Whether a graceful shutdown has begun.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    pub(crate) fn set_closing(&mut self) {
        self.closing = true;
    }

    pub(crate) fn connect(&mut self, token: Token) {
        self.conns.insert(token);
    }

    pub(crate) fn disconnect(&mut self, token: Token) {
        self.conns.remove(&token);
    }

    /// Adds `nick` for `token`; false if the nickname is taken.
    pub(crate) fn join(&mut self, nick: &str, token: Token) -> bool {
        let key = nick.to_ascii_lowercase();
        if self.members.contains_key(&key) {
            return false;
        }
        self.members.insert(key, (nick.to_string(), token));
        true
    }

    /// Renames `old` to `new` (a change of case only is allowed); false if
    /// `new` belongs to someone else or `old` is not here.
    pub(crate) fn rename(&mut self, old: &str, new: &str) -> bool {
        let (old_key, new_key) = (old.to_ascii_lowercase(), new.to_ascii_lowercase());
        if old_key != new_key && self.members.contains_key(&new_key) {
            return false;
        }
        match self.members.remove(&old_key) {
            Some((_, token)) => {
                self.members.insert(new_key, (new.to_string(), token));
                true
            }
            None => false,
        }
    }

    /// Removes `nick`; its channel if it was here.
    pub(crate) fn leave(&mut self, nick: &str) -> Option<Token> {
        self.members
            .remove(&nick.to_ascii_lowercase())
            .map(|(_, t)| t)
    }

    /// The members' channels.
    pub(crate) fn member_tokens(&self) -> Vec<Token> {
        self.members.values().map(|&(_, t)| t).collect()
    }

    /// Every open connection's channel.
    pub(crate) fn conn_tokens(&self) -> Vec<Token> {
        self.conns.iter().copied().collect()
    }
}

/// Checks a nickname: 1 to [`MAX_NICK`] characters, each an ASCII letter,
/// digit, `_` or `-`. The error is the reason, fit for an error line.
///
/// # Examples
///
/// ```
/// use asyncore_cli::chat::validate_nick;
/// assert!(validate_nick("alice_2-b").is_ok());
/// assert!(validate_nick("").is_err());
/// assert!(validate_nick("no spaces").is_err());
/// assert!(validate_nick(&"x".repeat(33)).is_err());
/// ```
pub fn validate_nick(nick: &str) -> Result<(), String> {
    let chars = nick.chars().count();
    if chars == 0 {
        return Err(format!("a nickname needs 1 to {MAX_NICK} characters"));
    }
    if chars > MAX_NICK {
        return Err(format!(
            "nickname too long ({chars} characters, at most {MAX_NICK})"
        ));
    }
    if let Some(bad) = nick
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "{bad:?} is not allowed in a nickname: use letters, digits, _ and -"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use asyncore_loop::EventLoop;

    #[test]
    fn join_rename_leave_ignore_case() {
        let mut ev = EventLoop::new();
        struct Idle;
        impl asyncore_loop::Dispatcher for Idle {}
        let (a, b) = (ev.add(Idle).token(), ev.add(Idle).token());
        let mut room = Room::default();
        assert!(room.join("Alice", a));
        assert!(!room.join("alice", b));
        assert!(room.join("bob", b));
        assert!(!room.rename("bob", "ALICE"));
        assert!(room.rename("bob", "Bob"));
        assert_eq!(room.nicks(), ["Alice", "Bob"]);
        assert_eq!(room.leave("BOB"), Some(b));
        assert_eq!(room.member_tokens(), [a]);
        assert_eq!(room.leave("bob"), None);
    }

    #[test]
    fn counts_members_and_connections_apart() {
        let mut ev = EventLoop::new();
        struct Idle;
        impl asyncore_loop::Dispatcher for Idle {}
        let (a, b) = (ev.add(Idle).token(), ev.add(Idle).token());
        let mut room = Room::default();
        room.connect(a);
        room.connect(b);
        assert!(room.join("Alice", a));
        assert_eq!((room.len(), room.connections()), (1, 2));
        assert!(room.contains("ALICE"), "contains ignores case");
        assert!(!room.is_empty());
        room.disconnect(b);
        assert_eq!(room.conn_tokens(), [a]);
        assert!(!room.is_closing());
        room.set_closing();
        assert!(room.is_closing());
    }

    #[test]
    fn nick_rules() {
        assert!(validate_nick("a").is_ok());
        assert!(validate_nick(&"a".repeat(32)).is_ok());
        assert!(validate_nick(&"a".repeat(33)).is_err());
        assert!(validate_nick("é").is_err());
        assert!(validate_nick("a.b").is_err());
        assert!(validate_nick("/who").is_err());
    }
}
