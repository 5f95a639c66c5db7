//! A server app running on a thread of its own: what `http::spawn` and
//! `smtpd::spawn` return, for tests and embedding.

use crate::AppError;
use asyncore_loop::Remote;
use std::net::SocketAddr;

/// A server running on its own thread (the loop stays on that thread).
#[derive(Debug)]
pub struct Spawned {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Stops it (`stop`) or shuts it down gracefully (`shutdown`).
    pub remote: Remote,
    /// The thread, with what the server's `serve` returned.
    pub thread: std::thread::JoinHandle<Result<(), AppError>>,
}

/// Runs `bind` on a new thread, hands back the address and remote it gives,
/// then runs `serve` on that thread. The server itself never crosses
/// threads (an event loop is not `Send`); a bind error is returned here.
pub(crate) fn spawn_server<T, B, S>(name: &str, bind: B, serve: S) -> Result<Spawned, AppError>
where
    B: FnOnce() -> Result<(T, SocketAddr, Remote), AppError> + Send + 'static,
    S: FnOnce(T) -> Result<(), AppError> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || match bind() {
        Ok((server, addr, remote)) => {
            let _ = tx.send(Ok((addr, remote)));
            serve(server)
        }
        Err(e) => {
            let _ = tx.send(Err(e));
            Ok(())
        }
    });
    match rx.recv() {
        Ok(Ok((addr, remote))) => Ok(Spawned {
            addr,
            remote,
            thread,
        }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(AppError::new(
            AppError::IO,
            format!("{name}: server thread failed to start"),
        )),
    }
}
