//! File bodies: small ones read at once (they leave in the same send as
//! their head), large ones through a [`FileBody`] producer the output queue
//! pulls 64 KiB at a time as the socket drains, so a slow reader costs one
//! chunk of memory whatever the file's size.

use asyncore_loop::chat::Producer;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Bodies up to this size are read whole and pushed with their head.
pub const SMALL_BODY: u64 = 64 << 10;

/// Bytes a [`FileBody`] reads per pull.
pub const CHUNK: u64 = 64 << 10;

/// Reads `len` bytes at `start` of the file at `path`; a file that shrank
/// meanwhile is an `UnexpectedEof` error.
pub fn read_part(path: &Path, start: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    if start > 0 {
        f.seek(SeekFrom::Start(start))?;
    }
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(len).read_to_end(&mut buf)?;
    if (buf.len() as u64) < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "file shrank while being served",
        ));
    }
    Ok(buf)
}

/// A byte range of a file as a [`Producer`]. The file is opened at the
/// first pull, so pipelined requests for large files hold no descriptor
/// until their turn. Exactly `len` bytes come out (the Content-Length was
/// promised): a file that shrank meanwhile is an error, which closes the
/// connection. Counts itself in `in_flight` while it lives.
#[derive(Debug)]
pub struct FileBody {
    path: PathBuf,
    file: Option<File>,
    start: u64,
    left: u64,
    in_flight: Rc<Cell<usize>>,
}

impl FileBody {
    /// `len` bytes of `path` from `start`.
    pub fn new(path: PathBuf, start: u64, len: u64, in_flight: Rc<Cell<usize>>) -> Self {
        in_flight.set(in_flight.get() + 1);
        FileBody {
            path,
            file: None,
            start,
            left: len,
            in_flight,
        }
    }
}

impl Drop for FileBody {
    fn drop(&mut self) {
        self.in_flight.set(self.in_flight.get().saturating_sub(1));
    }
}

impl Producer for FileBody {
    fn more(&mut self) -> io::Result<Vec<u8>> {
        if self.left == 0 {
            self.file = None;
            return Ok(Vec::new());
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                let mut f = File::open(&self.path)?;
                f.seek(SeekFrom::Start(self.start))?;
                self.file.insert(f)
            }
        };
        let want = self.left.min(CHUNK);
        let mut chunk = Vec::with_capacity(want as usize);
        file.take(want).read_to_end(&mut chunk)?;
        if chunk.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being served",
            ));
        }
        self.left -= chunk.len() as u64;
        Ok(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_length_and_shrink_is_an_error() {
        let path = std::env::temp_dir().join(format!("http-body-{}", std::process::id()));
        std::fs::write(&path, vec![7u8; 200_000]).unwrap();
        let n = Rc::new(Cell::new(0));
        let mut p = FileBody::new(path.clone(), 10, 150_000, n.clone());
        assert_eq!(n.get(), 1);
        let mut total = 0;
        loop {
            let c = p.more().unwrap();
            if c.is_empty() {
                break;
            }
            total += c.len();
        }
        assert_eq!(total, 150_000);
        drop(p);
        assert_eq!(n.get(), 0);
        let mut p = FileBody::new(path.clone(), 0, 300_000, n.clone());
        let err = std::iter::from_fn(|| Some(p.more()))
            .find_map(Result::err)
            .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(read_part(&path, 199_990, 10).unwrap().len(), 10);
        assert!(read_part(&path, 199_990, 11).is_err());
        std::fs::remove_file(path).unwrap();
    }
}
