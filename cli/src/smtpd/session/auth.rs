//! `AUTH` (RFC 4954) for a mail catcher: with `--auth-any`, PLAIN and
//! LOGIN are advertised and any well-formed credentials are accepted, so
//! applications configured with a user name and password can send to it.
//! Nothing is checked and nothing is protected.

use super::reply::reply;
use super::Session;
use crate::smtpd::base64::base64_decode;
use asyncore_loop::chat::Chat;
use std::io;

/// The `EHLO` line that advertises the mechanisms.
pub(super) const EHLO_AUTH: &str = "250-AUTH PLAIN LOGIN";
/// `AUTH LOGIN`'s prompts: "Username:" and "Password:" in base64.
const ASK_USER: &str = "334 VXNlcm5hbWU6";
const ASK_PASSWORD: &str = "334 UGFzc3dvcmQ6";

/// An exchange in progress: the next line is the client's response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AuthStep {
    /// `AUTH PLAIN` without an initial response: `334 ` was sent.
    Plain,
    /// `AUTH LOGIN`: the user name is asked for.
    LoginUser,
    /// `AUTH LOGIN`: the password is asked for.
    LoginPassword(String),
}

impl Session {
    /// `AUTH mechanism [initial-response]`.
    pub(super) fn auth(&mut self, chat: &mut Chat<'_, '_>, arg: Option<&str>) -> io::Result<()> {
        if !self.config.auth_any {
            return reply(chat, "502 5.5.1 Error: authentication not enabled");
        }
        if !self.extended {
            return reply(chat, "503 5.5.1 Error: send EHLO first");
        }
        if self.authenticated.is_some() {
            return reply(chat, "503 5.5.1 Error: already authenticated");
        }
        if self.mail_from.is_some() {
            return reply(
                chat,
                "503 5.5.1 Error: AUTH not permitted during a mail transaction",
            );
        }
        let Some(arg) = arg else {
            return reply(chat, "501 5.5.2 Syntax: AUTH mechanism [initial-response]");
        };
        let mut words = arg.split_whitespace();
        let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
        let initial = words.next();
        if words.next().is_some() {
            return reply(chat, "501 5.5.2 Syntax: AUTH mechanism [initial-response]");
        }
        match (mechanism.as_str(), initial) {
            ("PLAIN", None) => self.ask(chat, AuthStep::Plain, "334 "),
            ("PLAIN", Some(response)) => self.plain(chat, response),
            ("LOGIN", None) => self.ask(chat, AuthStep::LoginUser, ASK_USER),
            ("LOGIN", Some(user)) => self.login_user(chat, user),
            _ => reply(chat, "504 5.5.4 Unrecognized authentication type"),
        }
    }

    /// The client's line during an exchange (`*` cancels it).
    pub(super) fn auth_response(
        &mut self,
        chat: &mut Chat<'_, '_>,
        step: AuthStep,
        line: &str,
    ) -> io::Result<()> {
        let line = line.trim();
        if line == "*" {
            return reply(chat, "501 5.7.0 Authentication aborted");
        }
        match step {
            AuthStep::Plain => self.plain(chat, line),
            AuthStep::LoginUser => self.login_user(chat, line),
            AuthStep::LoginPassword(user) => match base64_decode(line) {
                Some(_password) => self.accept(chat, user),
                None => reply(chat, "501 5.5.2 Cannot decode response"),
            },
        }
    }

    fn ask(&mut self, chat: &mut Chat<'_, '_>, step: AuthStep, prompt: &str) -> io::Result<()> {
        self.auth_step = Some(step);
        reply(chat, prompt)
    }

    /// `authzid NUL authcid NUL password` (RFC 4616), in base64; `=` is an
    /// empty response.
    fn plain(&mut self, chat: &mut Chat<'_, '_>, response: &str) -> io::Result<()> {
        let Some(bytes) = base64_decode(response) else {
            return reply(chat, "501 5.5.2 Cannot decode response");
        };
        let fields: Vec<&[u8]> = bytes.split(|&b| b == 0).collect();
        match fields[..] {
            [_authzid, user, _password] if !user.is_empty() => {
                let user = String::from_utf8_lossy(user).into_owned();
                self.accept(chat, user)
            }
            _ => reply(chat, "535 5.7.8 Authentication credentials invalid"),
        }
    }

    fn login_user(&mut self, chat: &mut Chat<'_, '_>, response: &str) -> io::Result<()> {
        match base64_decode(response) {
            Some(user) => {
                let user = String::from_utf8_lossy(&user).into_owned();
                self.ask(chat, AuthStep::LoginPassword(user), ASK_PASSWORD)
            }
            None => reply(chat, "501 5.5.2 Cannot decode response"),
        }
    }

    fn accept(&mut self, chat: &mut Chat<'_, '_>, user: String) -> io::Result<()> {
        let line = format!("{} authenticated as {user:?}", chat.describe("smtpd"));
        chat.log_info(&line, "info");
        self.authenticated = Some(user);
        reply(chat, "235 2.7.0 Authentication successful")
    }
}
