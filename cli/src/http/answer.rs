//! Answering a GET or HEAD: the target resolved (or found in the cache),
//! then a file (304, 200, 206, 416), a directory's `index.html` or listing,
//! a `301` to add a directory's slash, or an error with a small body. Each
//! answer is pushed on the connection's chat channel.

use super::body::{read_part, SMALL_BODY};
use super::cache::{FileInfo, Identity};
use super::conditional::{extent, not_modified, precondition_failed, Extent, Validators};
use super::connection::Connection;
use super::dates::http_date;
use super::listing;
use super::request::Request;
use super::resolve::{reopen_same, resolve, status_of, Resolved};
use super::response::{error_body, Head};
use super::status::Status;
use super::target::{parse_target, Target};
use asyncore_loop::chat::{Chat, FileRegion};
use std::io;
use std::rc::Rc;
use std::time::Instant;

/// What one response was, for the access log.
#[derive(Debug, Clone, Copy)]
pub(super) struct Answer {
    pub(super) status: Status,
    pub(super) body: u64,
}

impl Connection {
    /// Answers with an error status and a small body (none for HEAD).
    pub(super) fn error(
        &mut self,
        chat: &mut Chat<'_, '_>,
        status: Status,
        req: Option<&Request>,
        keep_alive: bool,
    ) -> io::Result<Answer> {
        let body = error_body(status);
        let date = self.config.date();
        let mut head = Head::new(status, &date);
        head.field("Content-Type", "text/html; charset=utf-8")
            .field("Content-Length", body.len());
        match status {
            Status::MethodNotAllowed => {
                head.field("Allow", "GET, HEAD");
            }
            Status::Unavailable => {
                head.field("Retry-After", 1);
            }
            _ => {}
        }
        let http10 = req.is_some_and(|r| !r.http11);
        chat.push(head.finish(keep_alive, http10))?;
        let sent = if req.is_some_and(Request::is_head) {
            0
        } else {
            chat.push(body.as_bytes())?;
            body.len() as u64
        };
        Ok(Answer { status, body: sent })
    }

    /// Answers a GET or HEAD.
    pub(super) fn answer(
        &mut self,
        chat: &mut Chat<'_, '_>,
        req: &Request,
        now: Instant,
    ) -> io::Result<Answer> {
        let ka = req.keep_alive;
        let config = Rc::clone(&self.config);
        if config.cache_files {
            if let Some(hit) = config.cache.fresh(&req.target, now) {
                return self.file(chat, req, &hit, now);
            }
        }
        let target = match parse_target(&req.target) {
            Ok(t) => t,
            Err(status) => return self.error(chat, status, Some(req), ka),
        };
        let follow = config.follow_symlinks;
        let found = match resolve(&config.root, &target.segments, None, follow) {
            Ok(r) => r,
            Err(status) => return self.error(chat, status, Some(req), ka),
        };
        let file = if found.meta.is_file() {
            if target.trailing_slash {
                // A file is not a directory: `/a.txt/` is not `/a.txt`.
                return self.error(chat, Status::NotFound, Some(req), ka);
            }
            found
        } else if !target.trailing_slash {
            return self.redirect(chat, req, &target);
        } else {
            // `index.html`, else `index.htm` (as Python's server), else a listing.
            let mut index = None;
            for name in ["index.html", "index.htm"] {
                match resolve(&config.root, &target.segments, Some(name), follow) {
                    Ok(found) if found.meta.is_file() => {
                        index = Some(found);
                        break;
                    }
                    Err(Status::Forbidden) => {
                        return self.error(chat, Status::Forbidden, Some(req), ka)
                    }
                    _ => {}
                }
            }
            match index {
                Some(index) => index,
                None => return self.listing(chat, req, &target, &found),
            }
        };
        match self.file_info(&req.target, file, now) {
            Ok(info) => self.file(chat, req, &info, now),
            Err(status) => self.error(chat, status, Some(req), ka),
        }
    }

    /// What serving `file` needs; a small file's content is read (or
    /// taken from the cache if unchanged) and cached under `key`.
    fn file_info(&self, key: &[u8], file: Resolved, now: Instant) -> Result<Rc<FileInfo>, Status> {
        let size = file.meta.len();
        let validators = Validators::of(&file.meta);
        let identity = Identity::of(&file.meta);
        let cache = &self.config.cache;
        let body = if size > SMALL_BODY {
            None
        } else if let Some(same) = cache.same_content(key, &identity, size, &validators) {
            Some(same)
        } else {
            // From the file that was opened and checked, not by its path.
            let bytes = read_part(&file.file, 0, size).map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => Status::InternalError,
                _ => status_of(&e),
            })?;
            Some(Rc::from(bytes))
        };
        let last_modified = http_date(validators.mtime);
        let content_type = self.config.mime.lookup(&file.path).to_string();
        let info = Rc::new(FileInfo::new(
            file.path,
            identity,
            size,
            validators,
            last_modified,
            content_type,
            body,
        ));
        if info.body.is_some() && self.config.cache_files {
            cache.insert(key, Rc::clone(&info), now);
        }
        Ok(info)
    }

    /// 301 to the directory's path with its slash (and the query).
    fn redirect(
        &mut self,
        chat: &mut Chat<'_, '_>,
        req: &Request,
        target: &Target,
    ) -> io::Result<Answer> {
        let mut location = target.path(true);
        if let Some(q) = &target.query {
            location.push('?');
            location.push_str(q);
        }
        let date = self.config.date();
        let mut head = Head::new(Status::MovedPermanently, &date);
        head.field("Location", &location).field("Content-Length", 0);
        chat.push(head.finish(req.keep_alive, !req.http11))?;
        Ok(Answer {
            status: Status::MovedPermanently,
            body: 0,
        })
    }

    fn listing(
        &mut self,
        chat: &mut Chat<'_, '_>,
        req: &Request,
        target: &Target,
        dir: &Resolved,
    ) -> io::Result<Answer> {
        if precondition_failed(req, None) {
            return self.error(chat, Status::PreconditionFailed, Some(req), req.keep_alive);
        }
        // The directory that was opened and checked, not its path again.
        let refuse_outside = (!self.config.follow_symlinks).then_some(self.config.root.as_path());
        let entries = match listing::read_entries(&dir.dir_path(), refuse_outside) {
            Ok(e) => e,
            Err(e) => return self.error(chat, status_of(&e), Some(req), req.keep_alive),
        };
        let mut title = String::from("/");
        for s in &target.segments {
            title.push_str(&String::from_utf8_lossy(s));
            title.push('/');
        }
        let page = listing::render(&title, &entries, !target.segments.is_empty());
        let date = self.config.date();
        let mut head = Head::new(Status::Ok, &date);
        head.field("Content-Type", "text/html; charset=utf-8")
            .field("Content-Length", page.len())
            .field("Cache-Control", "no-cache");
        chat.push(head.finish(req.keep_alive, !req.http11))?;
        let body = if req.is_head() {
            0
        } else {
            chat.push(page.as_bytes())?;
            page.len() as u64
        };
        Ok(Answer {
            status: Status::Ok,
            body,
        })
    }

    /// A regular file: 304, 200, 206 or 416.
    fn file(
        &mut self,
        chat: &mut Chat<'_, '_>,
        req: &Request,
        file: &FileInfo,
        now: Instant,
    ) -> io::Result<Answer> {
        let ka = req.keep_alive;
        let v = &file.validators;
        let size = file.size;
        let date = self.config.date_at(now);
        if precondition_failed(req, Some(v)) {
            return self.error(chat, Status::PreconditionFailed, Some(req), ka);
        }
        if not_modified(req, v) {
            let mut head = Head::new(Status::NotModified, &date);
            head.field("ETag", &v.etag)
                .field("Last-Modified", &file.last_modified);
            chat.push(head.finish(ka, !req.http11))?;
            return Ok(Answer {
                status: Status::NotModified,
                body: 0,
            });
        }
        let (status, start, len) = match extent(req, v, size) {
            Extent::Full => (Status::Ok, 0, size),
            Extent::Part { start, end } => (Status::PartialContent, start, end - start + 1),
            Extent::Unsatisfiable => {
                let body = error_body(Status::RangeNotSatisfiable);
                let mut head = Head::new(Status::RangeNotSatisfiable, &date);
                head.field("Content-Type", "text/html; charset=utf-8")
                    .field("Content-Range", format!("bytes */{size}"))
                    .field("Content-Length", body.len());
                chat.push(head.finish(ka, !req.http11))?;
                let sent = if req.is_head() {
                    0
                } else {
                    chat.push(body.as_bytes())?;
                    body.len() as u64
                };
                return Ok(Answer {
                    status: Status::RangeNotSatisfiable,
                    body: sent,
                });
            }
        };
        if status == Status::Ok && ka && req.http11 {
            // The common case, a small file kept alive: one prepared copy.
            if let Some((whole, head_len)) = file.whole_response(&date) {
                let (n, body) = if req.is_head() {
                    (head_len, 0)
                } else {
                    (whole.len(), size)
                };
                chat.push(&whole[..n])?;
                return Ok(Answer { status, body });
            }
        }
        let mut head = Head::reusing(std::mem::take(&mut self.head_text), status, &date);
        if status == Status::Ok {
            head.rendered_fields(&file.full_fields);
        } else {
            head.text_field("Content-Type", &file.content_type)
                .number_field("Content-Length", len)
                .rendered_fields(&file.fields);
        }
        if status == Status::PartialContent {
            head.field(
                "Content-Range",
                format!("bytes {start}-{}/{size}", start + len - 1),
            );
        }
        let text = head.finish_text(ka, !req.http11);
        let pushed = chat.push(text.as_bytes());
        self.head_text = text;
        pushed?;
        if req.is_head() {
            return Ok(Answer { status, body: 0 });
        }
        match &file.body {
            // Both sizes are at most SMALL_BODY here.
            Some(bytes) => chat.push(&bytes[start as usize..(start + len) as usize])?,
            // Sent with sendfile(2) (read and encrypted under TLS); the
            // file is opened when its turn comes, so pipelined requests
            // hold no descriptor before then, and it must then be the
            // file this head was made for, still below the root.
            None => {
                let config = Rc::clone(&self.config);
                let (path, id) = (file.path.clone(), file.identity.file);
                let open = move || reopen_same(&config.root, &path, config.follow_symlinks, id);
                chat.push_file(FileRegion::open_later_with(open, start, len))?
            }
        }
        Ok(Answer { status, body: len })
    }
}
