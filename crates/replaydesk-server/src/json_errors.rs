//! hyper's own answers as JSON. A request hyper cannot parse (a bad request line or header:
//! 400; headers beyond its buffer: 431; a URI too long: 414) never reaches the router:
//! hyper writes a bare head itself (`content-length: 0`) and closes the connection, and
//! offers no hook to change it. Every other error of the API is `{"error","detail"}`, so
//! the connection's writes pass through [`JsonErrors`], which recognises that head and
//! writes the same status with a JSON body and the security headers instead.
//!
//! It is recognised by what only hyper's head has: one of those statuses, no body, and
//! none of the headers every answer of the router carries (`content-security-policy`,
//! see `headers`). hyper writes it as one buffer at the start of a write, and closes the
//! connection after it, so nothing follows that would need the original byte count.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose writes pass through, except hyper's own error head (see the module).
pub struct JsonErrors<S> {
    inner: S,
    /// The answer written instead of hyper's head: bytes, how many are written, and the
    /// length of hyper's buffer (reported as written once all of them are).
    replacing: Option<(Vec<u8>, usize, usize)>,
}

impl<S> JsonErrors<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            replacing: None,
        }
    }
}

/// The JSON answer for hyper's head `buf`, if it is one.
fn replacement(buf: &[u8]) -> Option<Vec<u8>> {
    let (status, error, detail) = if buf.starts_with(b"HTTP/1.1 400 ") {
        (
            "400 Bad Request",
            "bad_request",
            "the request could not be read as HTTP/1.1 (its request line or a header is malformed)",
        )
    } else if buf.starts_with(b"HTTP/1.1 431 ") {
        (
            "431 Request Header Fields Too Large",
            "headers_too_large",
            "the request's headers are larger than the server reads",
        )
    } else if buf.starts_with(b"HTTP/1.1 414 ") {
        (
            "414 URI Too Long",
            "uri_too_long",
            "the request's URI is longer than the server reads",
        )
    } else {
        return None;
    };
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    lines.next()?;
    let mut kept = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            // Its own `connection: close` is written below with the other headers.
            "content-length" if value.trim() == "0" => {}
            "connection" => {}
            "content-length" | "content-security-policy" | "content-type" | "transfer-encoding" => {
                return None
            }
            _ => kept.push(line),
        }
    }
    // The only bytes after the head would be a body, and hyper's has none.
    if end + 4 != buf.len() {
        return None;
    }
    let body = serde_json::json!({"error": error, "detail": detail}).to_string();
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\n\
         content-security-policy: {}\r\nreferrer-policy: no-referrer\r\n",
        body.len(),
        super::headers::CONTENT_SECURITY_POLICY
    );
    for line in kept {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&body);
    Some(out.into_bytes())
}

impl<S: AsyncWrite + Unpin> JsonErrors<S> {
    /// Writes what is left of the replacement; ready with hyper's buffer length when done.
    fn poll_replacing(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some((bytes, written, original)) = self.replacing.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        while *written < bytes.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        let original = *original;
        self.replacing = None;
        Poll::Ready(Ok(original))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = &mut *self;
        if me.replacing.is_none() {
            match replacement(buf) {
                Some(bytes) => me.replacing = Some((bytes, 0, buf.len())),
                None => return Pin::new(&mut me.inner).poll_write(cx, buf),
            }
        }
        me.poll_replacing(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = &mut *self;
        if me.replacing.is_some() {
            return me.poll_replacing(cx);
        }
        // hyper's head starts a buffer of its own; what comes before it goes out first.
        let first = bufs.iter().position(|b| !b.is_empty());
        let head = bufs.iter().position(|b| replacement(b).is_some());
        match head {
            Some(i) if Some(i) == first => {
                let bytes = replacement(&bufs[i]).unwrap_or_default();
                me.replacing = Some((bytes, 0, bufs[i].len()));
                me.poll_replacing(cx)
            }
            Some(i) => Pin::new(&mut me.inner).poll_write_vectored(cx, &bufs[..i]),
            None => Pin::new(&mut me.inner).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::replacement;

    #[test]
    fn only_hypers_bare_error_heads_are_replaced() {
        let hyper = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 02:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(replacement(hyper).expect("replaced")).unwrap();
        assert!(out.starts_with("HTTP/1.1 431 "));
        assert!(out.contains("content-type: application/json\r\n"));
        assert!(out.contains("date: Mon, 07 Dec 2026 02:00:00 GMT\r\n"));
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "headers_too_large");
        // The router's own 400 (JSON, with its headers) passes.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\ncontent-security-policy: x\r\n\r\n";
        assert!(replacement(ours).is_none());
        assert!(replacement(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        // A head with a body after it is not hyper's.
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nx").is_none());
    }
}
