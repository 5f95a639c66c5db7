//! Command dispatch: each command line of the command state, answered
//! (`HELO`/`EHLO`, `MAIL`, `RCPT`, `DATA`, `RSET` ...), and the end of the
//! DATA state.

use super::reply::{printable, reply, GO_AHEAD, SUPPORTED};
use super::{Session, State, MAX_RECIPIENTS};
use crate::smtpd::delivery::Message;
use crate::smtpd::parse::{get_addr, get_params, split_command, strip_keyword};
use asyncore_loop::chat::Chat;
use asyncore_loop::Deadline;
use std::io;

impl Session {
    fn enter_command_state(&mut self, chat: &mut Chat<'_, '_>) {
        self.state = State::Command;
        chat.set_timeout(Deadline::Idle, Some(self.config.command_timeout));
    }

    pub(super) fn command(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        let mut line = match self.line.take() {
            Ok(line) => line,
            Err(_) => {
                self.auth_step = None;
                return reply(chat, "500 Error: line too long");
            }
        };
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let text = String::from_utf8_lossy(&line);
        if let Some(step) = self.auth_step.take() {
            return self.auth_response(chat, step, &text);
        }
        if line.is_empty() {
            return reply(chat, "500 Error: bad syntax");
        }
        let (verb, arg) = split_command(&text);
        if line.len() + 2 > self.limit(&verb) {
            return reply(chat, "500 Error: line too long");
        }
        if self.draining && self.mail_from.is_none() && verb != "QUIT" {
            return self.closing(chat, "Service shutting down, closing transmission channel");
        }
        match verb.as_str() {
            "HELO" | "EHLO" => self.hello(chat, &verb, arg),
            "NOOP" => reply(
                chat,
                if arg.is_some() {
                    "501 Syntax: NOOP"
                } else {
                    "250 OK"
                },
            ),
            "QUIT" => {
                self.quit = true;
                reply(chat, "221 Bye")?;
                chat.close_when_done();
                Ok(())
            }
            "MAIL" => self.mail(chat, arg),
            "RCPT" => self.rcpt(chat, arg),
            "RSET" => {
                if arg.is_some() {
                    return reply(chat, "501 Syntax: RSET");
                }
                self.reset();
                reply(chat, "250 OK")
            }
            "DATA" => self.data(chat, arg),
            "STARTTLS" => self.starttls(chat, arg),
            "AUTH" => self.auth(chat, arg),
            "VRFY" => match arg {
                None => reply(chat, "501 Syntax: VRFY <address>"),
                Some(a) if !get_addr(a).0.is_empty() => reply(
                    chat,
                    "252 Cannot VRFY user, but will accept message and attempt delivery",
                ),
                Some(a) => reply(chat, &format!("502 Could not VRFY {}", printable(a))),
            },
            "EXPN" => reply(chat, "502 EXPN not implemented"),
            "HELP" => self.help(chat, arg),
            _ => reply(
                chat,
                &format!("500 Error: command \"{}\" not recognized", printable(&verb)),
            ),
        }
    }

    /// `421 <host> text`, then close once it is sent.
    pub(super) fn closing(&mut self, chat: &mut Chat<'_, '_>, text: &str) -> io::Result<()> {
        self.quit = true;
        let line = format!("421 {} {text}", self.config.hostname);
        reply(chat, &line)?;
        chat.close_when_done();
        Ok(())
    }

    fn hello(&mut self, chat: &mut Chat<'_, '_>, verb: &str, arg: Option<&str>) -> io::Result<()> {
        let Some(arg) = arg else {
            return reply(chat, &format!("501 Syntax: {verb} hostname"));
        };
        if self.greeting.is_some() {
            return reply(chat, "503 Duplicate HELO/EHLO");
        }
        self.reset();
        self.greeting = Some(arg.to_string());
        let host = &self.config.hostname;
        if verb == "HELO" {
            return reply(chat, &format!("250 {host}"));
        }
        self.extended = true;
        let auth = if self.config.auth_any {
            format!("{}\r\n", super::auth::EHLO_AUTH)
        } else {
            String::new()
        };
        let lines = format!(
            "250-{host}\r\n250-SIZE {}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-PIPELINING\r\n{}{auth}250 HELP",
            self.config.max_size,
            self.starttls_offer()
        );
        reply(chat, &lines)
    }

    fn help(&mut self, chat: &mut Chat<'_, '_>, arg: Option<&str>) -> io::Result<()> {
        let params = if self.extended {
            " [SP <mail-parameters>]"
        } else {
            ""
        };
        let text = match arg.map(str::to_uppercase).as_deref() {
            None => format!("250 {SUPPORTED}"),
            Some("EHLO") => "250 Syntax: EHLO hostname".into(),
            Some("HELO") => "250 Syntax: HELO hostname".into(),
            Some("MAIL") => format!("250 Syntax: MAIL FROM: <address>{params}"),
            Some("RCPT") => format!("250 Syntax: RCPT TO: <address>{params}"),
            Some("DATA") => "250 Syntax: DATA".into(),
            Some("RSET") => "250 Syntax: RSET".into(),
            Some("NOOP") => "250 Syntax: NOOP".into(),
            Some("QUIT") => "250 Syntax: QUIT".into(),
            Some("VRFY") => "250 Syntax: VRFY <address>".into(),
            Some(_) => format!("501 {SUPPORTED}"),
        };
        reply(chat, &text)
    }

    fn mail(&mut self, chat: &mut Chat<'_, '_>, arg: Option<&str>) -> io::Result<()> {
        if self.greeting.is_none() {
            return reply(chat, "503 Error: send HELO first");
        }
        if self.tls_missing() {
            return reply(chat, "530 5.7.0 Must issue a STARTTLS command first");
        }
        let syntax = if self.extended {
            "501 Syntax: MAIL FROM: <address> [SP <mail-parameters>]"
        } else {
            "501 Syntax: MAIL FROM: <address>"
        };
        let Some(arg) = arg else {
            return reply(chat, syntax);
        };
        let (address, params) = get_addr(strip_keyword("FROM:", arg));
        if address.is_empty() || (!self.extended && !params.is_empty()) {
            return reply(chat, syntax);
        }
        if self.mail_from.is_some() {
            return reply(chat, "503 Error: nested MAIL command");
        }
        let options: Vec<String> = params
            .to_uppercase()
            .split_whitespace()
            .map(String::from)
            .collect();
        let Some(mut params) = get_params(&options) else {
            return reply(chat, syntax);
        };
        match params.remove("BODY") {
            None => {}
            Some(Some(b)) if b == "7BIT" || b == "8BITMIME" => {}
            Some(_) => return reply(chat, "501 Error: BODY can only be one of 7BIT, 8BITMIME"),
        }
        if let Some(Some(_)) = params.remove("SMTPUTF8") {
            return reply(chat, "501 Error: SMTPUTF8 takes no arguments");
        }
        match params.remove("SIZE") {
            None => {}
            Some(Some(size)) if !size.is_empty() && size.bytes().all(|b| b.is_ascii_digit()) => {
                let too_big = size
                    .parse::<usize>()
                    .map_or(true, |n| n > self.config.max_size);
                if too_big {
                    return reply(
                        chat,
                        "552 Error: message size exceeds fixed maximum message size",
                    );
                }
            }
            Some(_) => return reply(chat, syntax),
        }
        if !params.is_empty() {
            return reply(
                chat,
                "555 MAIL FROM parameters not recognized or not implemented",
            );
        }
        self.mail_from = Some(address);
        self.mail_options = options;
        reply(chat, "250 OK")
    }

    fn rcpt(&mut self, chat: &mut Chat<'_, '_>, arg: Option<&str>) -> io::Result<()> {
        if self.greeting.is_none() {
            return reply(chat, "503 Error: send HELO first");
        }
        if self.mail_from.is_none() {
            return reply(chat, "503 Error: need MAIL command");
        }
        let syntax = if self.extended {
            "501 Syntax: RCPT TO: <address> [SP <mail-parameters>]"
        } else {
            "501 Syntax: RCPT TO: <address>"
        };
        let Some(arg) = arg else {
            return reply(chat, syntax);
        };
        let (address, params) = get_addr(strip_keyword("TO:", arg));
        if address.is_empty() || address == "<>" || (!self.extended && !params.is_empty()) {
            return reply(chat, syntax);
        }
        let options: Vec<String> = params
            .to_uppercase()
            .split_whitespace()
            .map(String::from)
            .collect();
        match get_params(&options) {
            None => return reply(chat, syntax),
            Some(p) if !p.is_empty() => {
                return reply(
                    chat,
                    "555 RCPT TO parameters not recognized or not implemented",
                )
            }
            Some(_) => {}
        }
        if self.rcpt_tos.len() >= MAX_RECIPIENTS {
            return reply(chat, "452 Error: too many recipients");
        }
        self.rcpt_tos.push(address);
        reply(chat, "250 OK")
    }

    fn data(&mut self, chat: &mut Chat<'_, '_>, arg: Option<&str>) -> io::Result<()> {
        if self.greeting.is_none() {
            return reply(chat, "503 Error: send HELO first");
        }
        if self.rcpt_tos.is_empty() {
            return reply(chat, "503 Error: need RCPT command");
        }
        if arg.is_some() {
            return reply(chat, "501 Syntax: DATA");
        }
        self.state = State::Data;
        self.incoming.begin();
        chat.set_timeout(Deadline::Idle, Some(self.config.data_timeout));
        reply(chat, GO_AHEAD)
    }

    /// The end-of-data line arrived: store, then acknowledge.
    pub(super) fn end_of_data(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        self.enter_command_state(chat);
        let incoming = std::mem::take(&mut self.incoming);
        if incoming.overflow {
            self.reset();
            return reply(chat, "552 Error: Too much mail data");
        }
        let message = Message {
            peer: self.peer.clone(),
            mail_from: self.mail_from.take().unwrap_or_default(),
            rcpt_tos: std::mem::take(&mut self.rcpt_tos),
            mail_options: std::mem::take(&mut self.mail_options),
            data: incoming.data,
        };
        self.reset();
        match self.deliver.deliver(&message) {
            Ok(()) => reply(chat, "250 OK")?,
            Err(e) => {
                let line = format!(
                    "{} cannot store the message from {}: {e}",
                    chat.describe("smtpd"),
                    message.mail_from
                );
                chat.log_info(&line, "error");
                reply(
                    chat,
                    "451 Requested action aborted: local error in processing",
                )?
            }
        }
        if self.draining {
            // Shutting down: the transaction that held the session is over;
            // tell the client now rather than at a next command that may
            // not come before the grace ends.
            return self.closing(chat, "Service shutting down, closing transmission channel");
        }
        Ok(())
    }
}
