//! A test logger for the library's own `log` records (its debug and trace
//! events), kept per thread so that tests running in parallel do not see
//! each other's records.

use std::cell::RefCell;
use std::sync::Once;

/// One record: its level, target and message.
#[derive(Clone, Debug)]
pub struct Record {
    pub level: log::Level,
    pub target: String,
    pub message: String,
}

thread_local! {
    static RECORDING: RefCell<Option<Vec<Record>>> = const { RefCell::new(None) };
}

struct Recorder;

impl log::Log for Recorder {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let _ = RECORDING.try_with(|r| {
            if let Some(records) = r.borrow_mut().as_mut() {
                records.push(Record {
                    level: record.level(),
                    target: record.target().to_string(),
                    message: record.args().to_string(),
                });
            }
        });
    }

    fn flush(&self) {}
}

/// Records every `log` record made on this thread while it lives. The first
/// one installs the recorder as the process's logger, at trace level.
pub struct LogRecorder(());

impl LogRecorder {
    pub fn start() -> LogRecorder {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            log::set_logger(&Recorder).expect("no other logger in the tests");
            log::set_max_level(log::LevelFilter::Trace);
        });
        RECORDING.with(|r| *r.borrow_mut() = Some(Vec::new()));
        LogRecorder(())
    }

    /// The records so far.
    pub fn records(&self) -> Vec<Record> {
        RECORDING.with(|r| r.borrow().clone().unwrap_or_default())
    }

    /// The library's records at `level`, as `message` lines.
    pub fn library_lines(&self, level: log::Level) -> Vec<String> {
        self.records()
            .into_iter()
            .filter(|r| r.level == level && r.target.starts_with("asyncore_loop"))
            .map(|r| r.message)
            .collect()
    }

    /// Forgets the records so far.
    pub fn clear(&self) {
        RECORDING.with(|r| *r.borrow_mut() = Some(Vec::new()));
    }
}

impl Drop for LogRecorder {
    fn drop(&mut self) {
        let _ = RECORDING.try_with(|r| *r.borrow_mut() = None);
    }
}
