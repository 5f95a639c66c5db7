//! Which handler the loop is calling, for log lines such as
//! `handle_error`'s.

/// The handler the loop is calling on a channel: one byte, written before
/// every handler call (once per message on the echo path), read only when
/// something is logged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum HandlerName {
    /// Outside any handler call.
    #[default]
    None,
    ReadEvent,
    WriteEvent,
    ExptEvent,
    /// The steps of one poll report, before any of them names itself.
    Readwrite,
    ReadEof,
    Close,
    Shutdown,
    Timer,
    Timeout,
    TimerCallback,
    RemoteJob,
    SignalCallback,
}

impl HandlerName {
    /// The name as a log line says it (empty outside a handler call).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            HandlerName::None => "",
            HandlerName::ReadEvent => "handle_read_event",
            HandlerName::WriteEvent => "handle_write_event",
            HandlerName::ExptEvent => "handle_expt_event",
            HandlerName::Readwrite => "readwrite",
            HandlerName::ReadEof => "handle_read_eof",
            HandlerName::Close => "handle_close",
            HandlerName::Shutdown => "handle_shutdown",
            HandlerName::Timer => "handle_timer",
            HandlerName::Timeout => "handle_timeout",
            HandlerName::TimerCallback => "timer callback",
            HandlerName::RemoteJob => "remote job",
            HandlerName::SignalCallback => "signal callback",
        }
    }
}
