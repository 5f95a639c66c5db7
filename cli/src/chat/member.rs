//! One connection to the room: the nickname dialogue, commands, and what
//! happens to a member that stops reading or goes quiet.

use super::room::{validate_nick, Room};
use super::ChatOptions;
use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, Collector};
use asyncore_loop::Deadline;
use std::collections::VecDeque;
use std::io;
use std::time::Duration;

/// How long a departing member's last lines may take to be read before the
/// connection is closed regardless.
pub(crate) const DEPART_GRACE: Duration = Duration::from_secs(5);

/// The question asked until a valid nickname arrives.
const ASK_NICK: &str = "* your nickname? (1-32 letters, digits, _ or -)";

const HELP: &[&str] = &[
    "* commands:",
    "*   /who        who is here",
    "*   /nick NEW   change your nickname",
    "*   /quit       leave",
    "*   /help       this list",
    "*   //text      say a line that starts with /",
];

#[derive(Debug)]
enum Phase {
    /// Connected, no nickname yet.
    Naming,
    /// In the room under this nickname.
    Joined(String),
    /// Leaving: out of the room, last lines being sent, input ignored.
    Gone,
}

/// The [`ChatHandler`] of one connection.
#[derive(Debug)]
pub(crate) struct Member {
    phase: Phase,
    line: Collector,
    opts: ChatOptions,
}

/// One output line, CRLF-terminated (telnet wants CR LF; nc shows it as is).
fn line(text: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(text.len() + 2);
    v.extend_from_slice(text.as_bytes());
    v.extend_from_slice(b"\r\n");
    v
}

/// Decodes a received line (invalid UTF-8 replaced) and drops control
/// characters other than tab, so nobody can send terminal escapes.
fn clean(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .chars()
        .filter(|c| *c == '\t' || !c.is_control())
        .collect()
}

fn human(d: Duration) -> String {
    let secs = d.as_secs();
    match (secs / 60, d.subsec_nanos() == 0 && secs.is_multiple_of(60)) {
        (1, true) => "1 minute".to_string(),
        (m, true) if m > 1 => format!("{m} minutes"),
        _ => format!("{} seconds", d.as_secs_f64()),
    }
}

/// Queues `first` for every room member except the channel whose hook is
/// running (`Chat::with` never reaches the caller). Members pushed past their
/// output limit are disconnected, and their departure is announced in turn;
/// those announcements are returned too, for the caller to hear.
pub(crate) fn broadcast(chat: &mut Chat<'_, '_, Room>, first: String) -> Vec<String> {
    let mut pending = VecDeque::from([first]);
    let mut for_caller = Vec::new();
    while let Some(text) = pending.pop_front() {
        let bytes = line(&text);
        for token in chat.state().member_tokens() {
            let kicked = chat
                .with(token, |c: &mut AsyncChat<Member>, cx| {
                    let (member, mut chat) = c.split(cx);
                    member.deliver(&mut chat, &bytes)
                })
                .flatten();
            if let Some(nick) = kicked {
                let news = format!("* {nick} left (too slow to read)");
                for_caller.push(news.clone());
                pending.push_back(news);
            }
        }
    }
    for_caller
}

impl Member {
    pub(crate) fn new(opts: ChatOptions) -> Self {
        Member {
            phase: Phase::Naming,
            // Room for the CR of a CRLF line ending.
            line: Collector::new(opts.max_line.saturating_add(1)),
            opts,
        }
    }

    /// The greeting, queued right after the connection is accepted.
    pub(crate) fn greet(&mut self, chat: &mut Chat<'_, '_, Room>) {
        let here = chat.state().len();
        let hello = format!("* welcome to asyncore chat ({here} here now)");
        self.reply(chat, &hello);
        self.reply(chat, ASK_NICK);
    }

    /// Queues `bytes` for this member. If that takes its queued output past
    /// the limit, it leaves the room and is disconnected (a notice queued
    /// last, sent if the peer ever reads); returns the nickname that left the
    /// room, if any.
    fn deliver(&mut self, chat: &mut Chat<'_, '_, Room>, bytes: &[u8]) -> Option<String> {
        if matches!(self.phase, Phase::Gone) {
            return None;
        }
        if let Err(e) = chat.push(bytes) {
            chat.log_info(&format!("chat: dropping a member: {e}"), "info");
            let nick = self.leave_room(chat);
            self.finish(chat);
            return nick;
        }
        if chat.queued_bytes() > self.opts.max_queue {
            let notice = format!(
                "* you are not reading fast enough ({} bytes waiting, the limit is {}); disconnecting",
                chat.queued_bytes(),
                self.opts.max_queue
            );
            return self.depart(chat, &notice);
        }
        None
    }

    /// A line for this member; if that overflows its queue, everyone else
    /// hears it left.
    fn reply(&mut self, chat: &mut Chat<'_, '_, Room>, text: &str) {
        if let Some(nick) = self.deliver(chat, &line(text)) {
            self.announce(chat, format!("* {nick} left (too slow to read)"));
        }
    }

    /// Tells everyone else in the room; if that disconnects slow readers,
    /// this member hears of it too.
    fn announce(&mut self, chat: &mut Chat<'_, '_, Room>, text: String) {
        for news in broadcast(chat, text) {
            self.reply(chat, &news);
        }
    }

    /// Takes this member out of the room; its nickname if it was in.
    fn leave_room(&mut self, chat: &mut Chat<'_, '_, Room>) -> Option<String> {
        match std::mem::replace(&mut self.phase, Phase::Gone) {
            Phase::Joined(nick) => {
                chat.state().leave(&nick);
                Some(nick)
            }
            _ => None,
        }
    }

    /// Leaves the room and says `notice` last, after what is already queued
    /// (dropping that could cut a line in half, and it is at most the limit
    /// plus one line). The connection closes once the notice is sent, or when
    /// the peer takes no output for [`DEPART_GRACE`].
    fn depart(&mut self, chat: &mut Chat<'_, '_, Room>, notice: &str) -> Option<String> {
        let nick = self.leave_room(chat);
        if chat.push(line(notice)).is_err() {
            self.finish(chat);
            return nick;
        }
        chat.close_when_done();
        chat.set_timeout(Deadline::Idle, None);
        chat.set_timeout(Deadline::Read, None);
        chat.set_timeout(Deadline::Write, Some(DEPART_GRACE));
        nick
    }

    /// Closes now (the room no longer knows this connection).
    fn finish(&mut self, chat: &mut Chat<'_, '_, Room>) {
        self.phase = Phase::Gone;
        let token = chat.token();
        chat.state().disconnect(token);
        if let Err(e) = chat.close() {
            chat.log_info(&format!("chat: close: {e}"), "info");
        }
    }

    /// A line before the nickname is set: a nickname, `/nick NAME` (the same),
    /// `/help` or `/quit`.
    fn choose_nick(&mut self, chat: &mut Chat<'_, '_, Room>, text: &str) {
        let nick = text.trim();
        if nick.is_empty() {
            return self.reply(chat, ASK_NICK);
        }
        let Some(cmd) = nick.strip_prefix('/') else {
            return self.join(chat, nick);
        };
        let mut words = cmd.split_whitespace();
        match words.next().unwrap_or("").to_ascii_lowercase().as_str() {
            "nick" => match (words.next(), words.next()) {
                (Some(new), None) => self.join(chat, new),
                _ => {
                    self.reply(chat, "error: usage: /nick NAME");
                    self.reply(chat, ASK_NICK);
                }
            },
            "quit" => {
                self.depart(chat, "* goodbye");
            }
            "help" => {
                for l in HELP {
                    self.reply(chat, l);
                }
                self.reply(chat, ASK_NICK);
            }
            _ => {
                self.reply(chat, "error: choose a nickname first");
                self.reply(chat, ASK_NICK);
            }
        }
    }

    /// Joins the room as `nick`, or says why not and asks again.
    fn join(&mut self, chat: &mut Chat<'_, '_, Room>, nick: &str) {
        if let Err(why) = validate_nick(nick) {
            self.reply(chat, &format!("error: {why}"));
            return self.reply(chat, ASK_NICK);
        }
        let token = chat.token();
        if !chat.state().join(nick, token) {
            self.reply(chat, &format!("error: the nickname {nick} is taken"));
            return self.reply(chat, ASK_NICK);
        }
        self.phase = Phase::Joined(nick.to_string());
        let others: Vec<String> = chat
            .state()
            .nicks()
            .into_iter()
            .filter(|n| n != nick)
            .collect();
        let here = if others.is_empty() {
            "nobody else is here".to_string()
        } else {
            format!("here: {}", others.join(", "))
        };
        self.reply(
            chat,
            &format!("* hello {nick}; {here}. Type /help for commands"),
        );
        self.announce(chat, format!("* {nick} joined"));
    }

    /// A line from a member.
    fn said(&mut self, chat: &mut Chat<'_, '_, Room>, nick: &str, text: &str) {
        let Some(cmd) = text.strip_prefix('/') else {
            if !text.trim().is_empty() {
                self.announce(chat, format!("<{nick}> {text}"));
            }
            return;
        };
        if cmd.starts_with('/') {
            return self.announce(chat, format!("<{nick}> {cmd}"));
        }
        let mut words = cmd.split_whitespace();
        let word = words.next().unwrap_or("").to_ascii_lowercase();
        match word.as_str() {
            "who" => {
                let nicks = chat.state().nicks();
                let who = format!("* {} here: {}", nicks.len(), nicks.join(", "));
                self.reply(chat, &who);
            }
            "nick" => match (words.next(), words.next()) {
                (Some(new), None) => self.rename(chat, nick, new),
                _ => self.reply(chat, "error: usage: /nick NEWNAME"),
            },
            "quit" => {
                if let Some(nick) = self.depart(chat, &format!("* goodbye, {nick}")) {
                    self.announce(chat, format!("* {nick} left"));
                }
            }
            "help" => {
                for l in HELP {
                    self.reply(chat, l);
                }
            }
            _ => self.reply(chat, &format!("error: unknown command /{word}; try /help")),
        }
    }

    fn rename(&mut self, chat: &mut Chat<'_, '_, Room>, old: &str, new: &str) {
        if let Err(why) = validate_nick(new) {
            return self.reply(chat, &format!("error: {why}"));
        }
        if old == new {
            return self.reply(chat, &format!("error: you are already {new}"));
        }
        if !chat.state().rename(old, new) {
            return self.reply(chat, &format!("error: the nickname {new} is taken"));
        }
        self.phase = Phase::Joined(new.to_string());
        self.reply(chat, &format!("* you are now known as {new}"));
        self.announce(chat, format!("* {old} is now known as {new}"));
    }
}

impl ChatHandler<Room> for Member {
    fn name(&self) -> &'static str {
        "chat member"
    }

    fn collect_incoming_data(
        &mut self,
        _chat: &mut Chat<'_, '_, Room>,
        data: &[u8],
    ) -> io::Result<()> {
        self.line.collect(data);
        Ok(())
    }

    fn found_terminator(&mut self, chat: &mut Chat<'_, '_, Room>) -> io::Result<()> {
        let record = self.line.take();
        if matches!(self.phase, Phase::Gone) {
            return Ok(());
        }
        let mut raw = match record {
            Ok(raw) => raw,
            Err(over) => {
                let msg = format!(
                    "error: line too long ({} bytes, the limit is {}); it was discarded",
                    over.total, self.opts.max_line
                );
                self.reply(chat, &msg);
                return Ok(());
            }
        };
        if raw.last() == Some(&b'\r') {
            raw.pop();
        }
        if raw.len() > self.opts.max_line {
            let msg = format!(
                "error: line too long ({} bytes, the limit is {}); it was discarded",
                raw.len(),
                self.opts.max_line
            );
            self.reply(chat, &msg);
            return Ok(());
        }
        let text = clean(&raw);
        match &self.phase {
            Phase::Naming => self.choose_nick(chat, &text),
            Phase::Joined(nick) => {
                let nick = nick.clone();
                self.said(chat, &nick, &text);
            }
            Phase::Gone => {}
        }
        Ok(())
    }

    /// The peer closed, or the connection broke: leave (announced) and close.
    fn handle_close(&mut self, chat: &mut Chat<'_, '_, Room>) -> io::Result<()> {
        let nick = self.leave_room(chat);
        self.finish(chat);
        if let Some(nick) = nick {
            if !chat.state().is_closing() {
                self.announce(chat, format!("* {nick} left"));
            }
        }
        Ok(())
    }

    /// Quiet for too long (read or idle deadline), output stuck for too long
    /// (write deadline), or a departing member's grace ran out.
    fn handle_timeout(&mut self, chat: &mut Chat<'_, '_, Room>, kind: Deadline) -> io::Result<()> {
        if matches!(self.phase, Phase::Gone) {
            self.finish(chat);
            return Ok(());
        }
        let after = self.opts.idle_timeout.map(human).unwrap_or_default();
        let (notice, reason) = match kind {
            Deadline::Write => (
                format!("* your connection has not taken output for {after}; disconnecting"),
                "too slow to read",
            ),
            // Deadline::Read, Deadline::Idle, and any kind a later version adds.
            _ => (format!("* idle for {after}; disconnecting"), "idle"),
        };
        if let Some(nick) = self.depart(chat, &notice) {
            self.announce(chat, format!("* {nick} left ({reason})"));
        }
        Ok(())
    }

    /// The server is stopping: say so, then close once sent.
    fn handle_shutdown(&mut self, chat: &mut Chat<'_, '_, Room>) -> io::Result<()> {
        chat.state().set_closing();
        if matches!(self.phase, Phase::Gone) {
            return Ok(());
        }
        self.depart(chat, "* server shutting down");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_drops_controls_and_keeps_text() {
        assert_eq!(clean(b"a\x1b[31mb\tc"), "a[31mb\tc");
        assert_eq!(clean(b"caf\xc3\xa9"), "café");
        assert_eq!(clean(b"\xff"), "\u{fffd}");
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(600)), "10 minutes");
        assert_eq!(human(Duration::from_secs(60)), "1 minute");
        assert_eq!(human(Duration::from_millis(60_500)), "60.5 seconds");
        assert_eq!(human(Duration::from_secs(90)), "90 seconds");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 seconds");
    }
}
