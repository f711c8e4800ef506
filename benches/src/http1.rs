//! A lean HTTP/1.1 keep-alive client for the load generator: one request
//! at a time per connection, written with one system call and read into a
//! buffer the connection keeps. On the server's own machine every cycle
//! the client spends is taken from the server it measures, so it does no
//! more than that (no header map, no second task per connection).

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Response headers read, at most.
const HEADERS_MAX: usize = 32;

/// One keep-alive connection.
pub struct Connection {
    stream: TcpStream,
    /// Bytes read and not yet consumed. A body is handed out as a view
    /// of it, not a copy; once the caller drops the view, the next read
    /// reuses the same memory.
    input: BytesMut,
    /// The request being written.
    output: Vec<u8>,
}

/// Why an exchange failed.
#[derive(Debug)]
pub enum HttpError {
    /// The socket failed or closed.
    Io(std::io::Error),
    /// The server's answer is not HTTP/1.1 this client reads.
    Malformed(&'static str),
}

impl From<std::io::Error> for HttpError {
    fn from(e: std::io::Error) -> Self {
        HttpError::Io(e)
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Io(e) => write!(f, "{e}"),
            HttpError::Malformed(why) => write!(f, "malformed response: {why}"),
        }
    }
}

impl Connection {
    /// Connects to `addr` (with `TCP_NODELAY`).
    pub async fn open(addr: std::net::SocketAddr) -> Result<Connection, HttpError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            input: BytesMut::with_capacity(16 * 1024),
            output: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends `method path` with an optional `X-API-Key` and JSON body, and
    /// reads the answer: its status and body.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: &[u8],
    ) -> Result<(u16, Bytes), HttpError> {
        self.output.clear();
        for part in [method, " ", path, " HTTP/1.1\r\nHost: agora\r\n"] {
            self.output.extend_from_slice(part.as_bytes());
        }
        if let Some(key) = key {
            for part in ["X-API-Key: ", key, "\r\n"] {
                self.output.extend_from_slice(part.as_bytes());
            }
        }
        if !body.is_empty() {
            self.output
                .extend_from_slice(b"Content-Type: application/json\r\n");
        }
        self.output.extend_from_slice(b"Content-Length: ");
        self.output
            .extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
        self.output.extend_from_slice(b"\r\n\r\n");
        self.output.extend_from_slice(body);
        self.stream.write_all(&self.output).await?;
        self.read_response().await
    }

    /// Reads one response (with a `Content-Length`, as the server sends).
    async fn read_response(&mut self) -> Result<(u16, Bytes), HttpError> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.input) {
                Ok(httparse::Status::Complete(head)) => {
                    let status = response.code.ok_or(HttpError::Malformed("no status"))?;
                    let length: usize = response
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                        .ok_or(HttpError::Malformed("no content-length"))?;
                    let end = head + length;
                    while self.input.len() < end {
                        self.fill().await?;
                    }
                    let mut body = self.input.split_to(end);
                    body.advance(head);
                    return Ok((status, body.freeze()));
                }
                Ok(httparse::Status::Partial) => self.fill().await?,
                Err(_) => return Err(HttpError::Malformed("bad head")),
            }
        }
    }

    /// Reads more of the stream into the input buffer.
    async fn fill(&mut self) -> Result<(), HttpError> {
        if self.input.capacity() - self.input.len() < 4096 {
            self.input.reserve(16 * 1024);
        }
        if self.stream.read_buf(&mut self.input).await? == 0 {
            return Err(HttpError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(())
    }
}
