//! STARTTLS on an `AsyncChat`: input stops while the upgrade waits for its
//! reply to be sent; input that followed the command refuses it.

use super::AsyncChat;
#[cfg(feature = "tls")]
use crate::chat::starttls::Upgrade;
#[cfg(feature = "tls")]
use crate::chat::ChatHandler;
#[cfg(feature = "tls")]
use crate::cx::Cx;
#[cfg(feature = "tls")]
use std::io;

impl<H> AsyncChat<H> {
    /// Starts TLS once the output is sent, unless input followed the command.
    #[cfg(feature = "tls")]
    pub(super) fn upgrade_when_flushed<S: 'static>(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()>
    where
        H: ChatHandler<S>,
    {
        if cx.is_closed() {
            self.buf.tls_upgrade = None;
            return Ok(());
        }
        if !self.buf.out.is_empty() {
            return Ok(());
        }
        let Some(upgrade) = self.buf.tls_upgrade.take() else {
            return Ok(());
        };
        let buffered = self.buf.framing.buffered(&self.input);
        if buffered > 0 {
            let line = format!(
                "{}: {} bytes of input after STARTTLS, refusing the upgrade and closing",
                cx.describe(self.handler.name()),
                buffered
            );
            cx.log_info(&line, "warning");
            self.buf.framing.discard_now(&mut self.input);
            return cx.close();
        }
        match upgrade {
            Upgrade::Server(config) => cx.start_tls_server(config),
            Upgrade::Client(config, name) => cx.start_tls_client(config, &name),
        }
    }
}
