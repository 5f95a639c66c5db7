//! File bodies: small ones read at once (they leave in the same send as
//! their head, and the cache keeps them); larger ones are queued as a
//! [`FileRegion`](asyncore_loop::chat::FileRegion) and sent with
//! sendfile(2) as the socket drains, so a slow reader costs no memory
//! whatever the file's size.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// Bodies up to this size are read whole and pushed with their head.
pub const SMALL_BODY: u64 = 64 << 10;

/// Reads `len` bytes at `start` of the open `file`; a file that shrank
/// meanwhile is an `UnexpectedEof` error.
pub fn read_part(mut f: &File, start: u64, len: u64) -> io::Result<Vec<u8>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_length_and_shrink_is_an_error() {
        let path = std::env::temp_dir().join(format!("http-body-{}", std::process::id()));
        std::fs::write(&path, vec![7u8; 200_000]).unwrap();
        let f = File::open(&path).unwrap();
        assert_eq!(read_part(&f, 10, 150_000).unwrap().len(), 150_000);
        assert_eq!(read_part(&f, 199_990, 10).unwrap().len(), 10);
        let err = read_part(&f, 199_990, 11).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        std::fs::remove_file(path).unwrap();
    }
}
