//! Where accepted messages go: a [`Maildir`] (written atomically and
//! durably), standard output as smtpd's `DebuggingServer` printed them
//! ([`Printer`]), or anything implementing [`Deliver`].
//!
//! The session sends `250 OK` after `DATA` only once
//! [`Deliver::deliver`] has returned `Ok`: for a Maildir that means the file
//! and its directory entry are on disk (`fsync`), so an acknowledged message
//! survives a crash or a power cut.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

/// One accepted message with its envelope.
///
/// `data` is the message as the client sent it, dot-unstuffed, with every
/// line ending in a single LF (CRLF and bare LF line ends are both taken as
/// line ends; Maildir files use LF).
///
/// # Examples
///
/// ```
/// let m = asyncore_cli::smtpd::Message {
///     peer: "127.0.0.1".into(),
///     mail_from: "a@example".into(),
///     rcpt_tos: vec!["b@example".into()],
///     mail_options: vec![],
///     data: b"Subject: hi\n\nhello\n".to_vec(),
/// };
/// assert_eq!(m.envelope_headers(), "X-Peer: 127.0.0.1\nX-MailFrom: a@example\nX-RcptTo: b@example\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// The client's IP address (smtpd's `peer[0]`).
    pub peer: String,
    /// The reverse path from `MAIL FROM` (`<>` for the null sender).
    pub mail_from: String,
    /// The forward paths from each accepted `RCPT TO`, in order.
    pub rcpt_tos: Vec<String>,
    /// `MAIL FROM` parameters, upper-cased (smtpd's `mail_options`), e.g. `BODY=8BITMIME`.
    pub mail_options: Vec<String>,
    /// The content: dot-unstuffed, LF line ends.
    pub data: Vec<u8>,
}

impl Message {
    /// The envelope as the headers prepended to a stored message:
    /// `X-Peer`, `X-MailFrom`, `X-RcptTo` (recipients joined by `, `), as
    /// `DebuggingServer` and aiosmtpd's mailbox handlers record them.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut m = asyncore_cli::smtpd::Message::default();
    /// m.rcpt_tos = vec!["a@x".into(), "b@y".into()];
    /// assert!(m.envelope_headers().ends_with("X-RcptTo: a@x, b@y\n"));
    /// ```
    pub fn envelope_headers(&self) -> String {
        format!(
            "X-Peer: {}\nX-MailFrom: {}\nX-RcptTo: {}\n",
            self.peer,
            self.mail_from,
            self.rcpt_tos.join(", ")
        )
    }
}

/// Stores accepted messages. `Ok` means stored for good: the session
/// acknowledges the message (`250 OK`) only then; on `Err` the client gets
/// `451` and may retry.
///
/// # Examples
///
/// A sink that counts messages:
///
/// ```
/// use asyncore_cli::smtpd::{Deliver, Message};
/// use std::cell::Cell;
///
/// #[derive(Default)]
/// struct Count(Cell<usize>);
/// impl Deliver for Count {
///     fn deliver(&self, _message: &Message) -> std::io::Result<()> {
///         self.0.set(self.0.get() + 1);
///         Ok(())
///     }
/// }
/// let c = Count::default();
/// c.deliver(&Message::default())?;
/// assert_eq!(c.0.get(), 1);
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait Deliver {
    /// Stores `message`; returns once it is durable.
    fn deliver(&self, message: &Message) -> io::Result<()>;
}

/// Every sink in turn (`--maildir` and `--print` together); the first
/// failure stops and is returned.
///
/// # Examples
///
/// ```
/// use asyncore_cli::smtpd::{Deliver, Message, Printer};
/// let both: Vec<Box<dyn Deliver>> = vec![Box::new(Printer::new(Vec::new())), Box::new(Printer::new(Vec::new()))];
/// both.deliver(&Message::default())?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl Deliver for Vec<Box<dyn Deliver>> {
    fn deliver(&self, message: &Message) -> io::Result<()> {
        self.iter().try_for_each(|d| d.deliver(message))
    }
}

impl<D: Deliver + ?Sized> Deliver for Rc<D> {
    fn deliver(&self, message: &Message) -> io::Result<()> {
        (**self).deliver(message)
    }
}

/// Keeps every message in memory (for tests and embedding).
///
/// # Examples
///
/// ```
/// use asyncore_cli::smtpd::{Deliver, Memory, Message};
/// let m = Memory::default();
/// m.deliver(&Message::default())?;
/// assert_eq!(m.messages().len(), 1);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Memory {
    messages: RefCell<Vec<Message>>,
}

impl Memory {
    /// The messages delivered so far.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(asyncore_cli::smtpd::Memory::default().messages().is_empty());
    /// ```
    pub fn messages(&self) -> Vec<Message> {
        self.messages.borrow().clone()
    }
}

impl Deliver for Memory {
    fn deliver(&self, message: &Message) -> io::Result<()> {
        self.messages.borrow_mut().push(message.clone());
        Ok(())
    }
}

/// A Maildir (`tmp/`, `new/`, `cur/`): each message is written to `tmp/`,
/// `fsync`ed, renamed into `new/`, and `new/` is `fsync`ed, so a reader never
/// sees a partial file and an acknowledged message is on disk. The envelope
/// ([`Message::envelope_headers`]) is prepended.
///
/// # Examples
///
/// ```
/// use asyncore_cli::smtpd::{Deliver, Maildir, Message};
/// let dir = std::env::temp_dir().join(format!("maildir-doc-{}", std::process::id()));
/// let md = Maildir::create(&dir)?;
/// md.deliver(&Message { data: b"Subject: x\n\nbody\n".to_vec(), ..Message::default() })?;
/// let new: Vec<_> = std::fs::read_dir(dir.join("new"))?.collect();
/// assert_eq!(new.len(), 1);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Maildir {
    root: PathBuf,
    host: String,
    counter: Cell<u64>,
}

impl Maildir {
    /// Opens `root` as a Maildir, creating it and its `tmp/`, `new/` and
    /// `cur/` (mode 0700) if needed.
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("maildir-create-{}", std::process::id()));
    /// asyncore_cli::smtpd::Maildir::create(&dir)?;
    /// assert!(dir.join("new").is_dir());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create(root: impl AsRef<Path>) -> io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        let root = root.as_ref().to_path_buf();
        for sub in ["tmp", "new", "cur"] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(root.join(sub))?;
        }
        // Maildir's name rule: '/' and ':' in the host name are escaped.
        let host = super::hostname()
            .replace('/', "\\057")
            .replace(':', "\\072");
        Ok(Maildir {
            root,
            host,
            counter: Cell::new(0),
        })
    }

    /// The directory.
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("maildir-root-{}", std::process::id()));
    /// assert_eq!(asyncore_cli::smtpd::Maildir::create(&dir)?.root(), dir.as_path());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A unique file name: `SECONDS.MmicrosPpidQcounter.host`.
    fn unique_name(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let n = self.counter.get();
        self.counter.set(n + 1);
        format!(
            "{}.M{}P{}Q{}.{}",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            n,
            self.host
        )
    }

    /// Writes `message` into `new/` and returns its path.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_cli::smtpd::{Maildir, Message};
    /// let dir = std::env::temp_dir().join(format!("maildir-store-{}", std::process::id()));
    /// let path = Maildir::create(&dir)?.store(&Message { data: b"x\n".to_vec(), ..Message::default() })?;
    /// assert!(std::fs::read(&path)?.ends_with(b"\nx\n"));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn store(&self, message: &Message) -> io::Result<PathBuf> {
        let name = self.unique_name();
        let tmp = self.root.join("tmp").join(&name);
        let new = self.root.join("new").join(&name);
        let written = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(message.envelope_headers().as_bytes())?;
            f.write_all(&message.data)?;
            f.sync_all()?;
            fs::rename(&tmp, &new)?;
            File::open(self.root.join("new"))?.sync_all()
        })();
        match written {
            Ok(()) => Ok(new),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}

impl Deliver for Maildir {
    fn deliver(&self, message: &Message) -> io::Result<()> {
        self.store(message).map(drop)
    }
}

/// Prints each message as smtpd's `DebuggingServer` did: a
/// `---------- MESSAGE FOLLOWS ----------` line, the `mail options` if any,
/// the header lines, `X-Peer: IP` where the headers end, the body, and
/// `------------ END MESSAGE ------------`. Lines are written as the bytes
/// received (smtpd 3.11 printed Python `repr()`s of byte strings instead).
///
/// # Examples
///
/// ```
/// use asyncore_cli::smtpd::{Deliver, Message, Printer};
/// let p = Printer::new(Vec::new());
/// p.deliver(&Message { peer: "peer-address".into(), data: b"From: test\n\nhello\n".to_vec(), ..Message::default() })?;
/// assert_eq!(
///     String::from_utf8(p.into_inner()).unwrap(),
///     "---------- MESSAGE FOLLOWS ----------\nFrom: test\nX-Peer: peer-address\n\nhello\n------------ END MESSAGE ------------\n"
/// );
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Printer<W: Write> {
    out: RefCell<W>,
    envelope: bool,
    /// Control bytes shown as `^[`, `^M` ...: a message must not drive the
    /// terminal it is printed on.
    show_controls: bool,
}

impl<W: Write> fmt::Debug for Printer<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Printer").finish_non_exhaustive()
    }
}

impl Printer<io::Stdout> {
    /// A printer on standard output. On a terminal, control bytes in the
    /// message are shown rather than sent ([`showing_controls`](Printer::showing_controls)).
    ///
    /// # Examples
    ///
    /// ```
    /// let _p = asyncore_cli::smtpd::Printer::stdout();
    /// ```
    pub fn stdout() -> Self {
        use std::io::IsTerminal;
        let on_a_terminal = io::stdout().is_terminal();
        Printer {
            show_controls: on_a_terminal,
            ..Printer::new(io::stdout())
        }
    }
}

impl<W: Write> Printer<W> {
    /// A printer on `out`.
    ///
    /// # Examples
    ///
    /// ```
    /// let _p = asyncore_cli::smtpd::Printer::new(Vec::new());
    /// ```
    pub fn new(out: W) -> Self {
        Printer {
            out: RefCell::new(out),
            envelope: false,
            show_controls: false,
        }
    }

    /// Shows control bytes other than tab and line end in caret notation,
    /// as `cat -v` does (`ESC` as `^[`, a bare `CR` as `^M`, `DEL` as `^?`),
    /// so that escape sequences in a message cannot drive the terminal.
    /// [`Printer::stdout`] turns this on when standard output is a terminal.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_cli::smtpd::{Deliver, Message, Printer};
    /// let p = Printer::new(Vec::new()).showing_controls();
    /// p.deliver(&Message { data: b"Subject: \x1b[31mred\r\n\nhi\tthere\n".to_vec(), ..Message::default() })?;
    /// let text = String::from_utf8(p.into_inner()).unwrap();
    /// assert!(text.contains("Subject: ^[[31mred^M\n"), "{text}");
    /// assert!(text.contains("\nhi\tthere\n"), "{text}");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn showing_controls(mut self) -> Self {
        self.show_controls = true;
        self
    }

    /// Also prints the envelope: `X-MailFrom` and `X-RcptTo` (every
    /// recipient, Bcc ones too) after `X-Peer`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_cli::smtpd::{Deliver, Message, Printer};
    /// let p = Printer::new(Vec::new()).with_envelope();
    /// let m = Message { mail_from: "a@x".into(), rcpt_tos: vec!["b@y".into(), "bcc@z".into()],
    ///                   data: b"To: b@y\n\nhi\n".to_vec(), ..Message::default() };
    /// p.deliver(&m)?;
    /// let text = String::from_utf8(p.into_inner()).unwrap();
    /// assert!(text.contains("\nX-MailFrom: a@x\nX-RcptTo: b@y, bcc@z\n\nhi\n"), "{text}");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_envelope(mut self) -> Self {
        self.envelope = true;
        self
    }

    /// The writer back.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(asyncore_cli::smtpd::Printer::new(Vec::new()).into_inner().is_empty());
    /// ```
    pub fn into_inner(self) -> W {
        self.out.into_inner()
    }
}

/// The `DebuggingServer` dump of `message`.
///
/// # Examples
///
/// ```
/// let text = asyncore_cli::smtpd::debugging_dump(&asyncore_cli::smtpd::Message::default());
/// assert!(text.starts_with(b"---------- MESSAGE FOLLOWS ----------\n"));
/// ```
pub fn debugging_dump(message: &Message) -> Vec<u8> {
    dump(message, false)
}

/// The dump, with the envelope after `X-Peer` when `envelope` is true (at
/// the end of the message when it has no header/body separator).
fn dump(message: &Message, envelope: bool) -> Vec<u8> {
    let peer = if envelope {
        format!(
            "X-Peer: {}\nX-MailFrom: {}\nX-RcptTo: {}\n",
            message.peer,
            message.mail_from,
            message.rcpt_tos.join(", ")
        )
    } else {
        format!("X-Peer: {}\n", message.peer)
    };
    let mut out = Vec::with_capacity(message.data.len() + 128);
    out.extend_from_slice(b"---------- MESSAGE FOLLOWS ----------\n");
    if !message.mail_options.is_empty() {
        let quoted: Vec<String> = message
            .mail_options
            .iter()
            .map(|o| format!("'{o}'"))
            .collect();
        out.extend_from_slice(format!("mail options: [{}]\n", quoted.join(", ")).as_bytes());
    }
    let mut in_headers = true;
    let body = message.data.strip_suffix(b"\n").unwrap_or(&message.data);
    if !message.data.is_empty() {
        for line in body.split(|&b| b == b'\n') {
            if in_headers && line.is_empty() {
                out.extend_from_slice(peer.as_bytes());
                in_headers = false;
            }
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    }
    if envelope && in_headers {
        out.extend_from_slice(peer.as_bytes());
    }
    out.extend_from_slice(b"------------ END MESSAGE ------------\n");
    out
}

/// `text` with its control bytes other than tab and line feed in caret
/// notation (`0x1b` → `^[`, `0x7f` → `^?`).
fn caret_notation(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for &b in text {
        match b {
            b'\t' | b'\n' => out.push(b),
            0..=0x1f => out.extend_from_slice(&[b'^', b + 0x40]),
            0x7f => out.extend_from_slice(b"^?"),
            _ => out.push(b),
        }
    }
    out
}

impl<W: Write> Deliver for Printer<W> {
    fn deliver(&self, message: &Message) -> io::Result<()> {
        let mut out = self.out.borrow_mut();
        let text = dump(message, self.envelope);
        if self.show_controls {
            out.write_all(&caret_notation(&text))?;
        } else {
            out.write_all(&text)?;
        }
        out.flush()
    }
}
