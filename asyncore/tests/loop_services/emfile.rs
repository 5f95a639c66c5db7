//! issue 4 §7 EMFILE on accept: accepting resumes when a descriptor is free (in a child process).

use super::*;

/// Greets every accepted connection with "hi" and keeps it as a channel.
struct Keeper;

impl Dispatcher<()> for Keeper {
    fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
        (&sock).write_all(b"hi")?;
        cx.add(Plain).adopt(sock)?;
        Ok(())
    }
}

/// What the server did to a client so far: greeted it ("hi"), closed it
/// (end of stream or reset), or nothing yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Waiting,
    Greeted,
    Shed,
}

fn fate(c: &TcpStream) -> Fate {
    let mut buf = [0u8; 2];
    match c.peek(&mut buf) {
        Ok(0) => Fate::Shed,
        Ok(2) => Fate::Greeted,
        Ok(_) => Fate::Waiting,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Fate::Waiting,
        Err(_) => Fate::Shed,
    }
}

/// Polls until `c` is greeted or shed (within 5 s).
fn settle(ev: &mut EventLoop<()>, c: &TcpStream) -> Fate {
    let deadline = Instant::now() + secs(5);
    loop {
        ev.poll(Some(ms(5))).unwrap();
        match fate(c) {
            Fate::Waiting => assert!(Instant::now() < deadline, "client left hanging"),
            done => return done,
        }
    }
}

/// issue 4 §7 EMFILE: after the descriptors ran out, accepting resumes as
/// soon as a held connection closes, without waiting out the back-off. With
/// RLIMIT_NOFILE lowered so that only a few connections fit, 20 clients
/// connect (some held, the rest shed); then six more, one after the other,
/// each shed (every episode doubles the accept back-off, to 640 ms for the
/// last pause); one warning is logged in all. Right after the last one, a
/// held client hangs up: its channel closes, and a late client is accepted
/// and greeted within 200 ms of the hang-up. The library's debug log tells the
/// episode: out of descriptors once, the shedding, accepting again. In a
/// child process.
fn emfile_accepting_resumes_when_a_connection_closes(b: Backend) {
    in_child(
        &case_in(
            module_path!(),
            "emfile_accepting_resumes_when_a_connection_closes",
            b,
        ),
        || {
            let records = util::log_records::LogRecorder::start();
            let mut ev = event_loop(b, ());
            let log = capture(&mut ev);
            let (_listener, addr) = listen(&mut ev, Keeper);
            ev.poll(Some(Duration::ZERO)).unwrap();
            let mut sockets: Vec<Socket> = (0..27)
                .map(|_| Socket::new(AF_INET, SOCK_STREAM, None).unwrap())
                .collect();
            let late = sockets.pop().unwrap();
            let extra: Vec<Socket> = sockets.drain(20..).collect();

            set_fd_limit(limit_leaving_free(3));

            let open = |s: Socket| {
                s.connect(&addr).unwrap();
                s.set_nonblocking(true).unwrap();
                TcpStream::from(s)
            };
            let mut clients: Vec<TcpStream> = sockets.into_iter().map(open).collect();
            let deadline = Instant::now() + secs(10);
            let fates = loop {
                ev.poll(Some(ms(10))).unwrap();
                let fates: Vec<Fate> = clients.iter().map(fate).collect();
                if !fates.contains(&Fate::Waiting) {
                    break fates;
                }
                assert!(Instant::now() < deadline, "{fates:?}");
            };
            let held = fates.iter().filter(|&&f| f == Fate::Greeted).count();
            assert!(held >= 1, "some connections fit");
            assert!(held < clients.len(), "descriptors ran out");
            assert_eq!(ev.len(), 1 + held);
            // Kept open: each holds a descriptor of this process.
            let mut shed = Vec::new();
            for s in extra {
                let c = open(s);
                assert_eq!(settle(&mut ev, &c), Fate::Shed, "no descriptor for it");
                shed.push(c);
            }
            let warnings = log
                .lines()
                .iter()
                .filter(|l| l.starts_with("warning: accept on"))
                .count();
            assert_eq!(warnings, 1, "one line per episode: {:?}", log.lines());

            // A held client hangs up; the late one arrives at once.
            let i = fates.iter().position(|&f| f == Fate::Greeted).unwrap();
            let released = Instant::now();
            drop(clients.remove(i));
            let late = open(late);
            assert_eq!(settle(&mut ev, &late), Fate::Greeted);
            let waited = released.elapsed();
            println!(
                "[{}] late client served {waited:?} after the release",
                b.name()
            );
            assert!(waited < ms(200), "the late client waited {waited:?}");
            assert_eq!(ev.len(), 1 + held);

            let debug = records.library_lines(log::Level::Debug);
            let count = |needle: &str| debug.iter().filter(|l| l.contains(needle)).count();
            assert_eq!(count("out of descriptors"), 1, "{debug:#?}");
            assert!(count("shed waiting connections") >= 1, "{debug:#?}");
            assert!(count("accepting again") >= 1, "{debug:#?}");
        },
    );
}

/// Descriptors at or above `FD_SETSIZE` (1024), which `select()` cannot
/// watch. With every number below 1024 taken, a new connection gets 1024:
/// select closes it at once and pauses accepting, as when descriptors run
/// out, and the loop goes on (it used to fail the pass, which stopped the
/// whole server); once a low number is free, the next client is served.
/// Poll and epoll serve the same connections as usual. In a child process.
fn descriptors_beyond_select_range(b: Backend) {
    in_child(
        &case_in(module_path!(), "descriptors_beyond_select_range", b),
        || {
            set_fd_limit(2048);
            let mut ev = event_loop(b, ());
            let log = capture(&mut ev);
            let (_listener, addr) = listen(&mut ev, Keeper);
            ev.poll(Some(Duration::ZERO)).unwrap();
            // The clients' sockets exist before the numbers run out.
            let mut sockets: Vec<Socket> = (0..2)
                .map(|_| Socket::new(AF_INET, SOCK_STREAM, None).unwrap())
                .collect();
            let mut low = Vec::new();
            loop {
                let f = std::fs::File::open("/dev/null").unwrap();
                let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
                assert!(fd < 1024, "numbers below 1024 were left free");
                low.push(f);
                if fd == 1023 {
                    break;
                }
            }
            let open = |s: Socket| {
                s.connect(&addr).unwrap();
                s.set_nonblocking(true).unwrap();
                TcpStream::from(s)
            };

            let first = open(sockets.remove(0));
            if b == Backend::Select {
                assert_eq!(settle(&mut ev, &first), Fate::Shed);
                let warned = log.lines().iter().any(|l| {
                    l.starts_with("warning: accept on") && l.contains("outside select()'s range")
                });
                assert!(warned, "{:?}", log.lines());
                assert_eq!(ev.len(), 1, "only the listener");
            } else {
                assert_eq!(settle(&mut ev, &first), Fate::Greeted);
            }

            drop(low.pop()); // number 1023 is free again
            let second = open(sockets.remove(0));
            assert_eq!(settle(&mut ev, &second), Fate::Greeted);
        },
    );
}

backend_tests!(
    emfile_accepting_resumes_when_a_connection_closes,
    descriptors_beyond_select_range,
);
