// A small HTTP/1.1 server with keep-alive: GET / answers "hello", POST
// /echo answers the body it was sent; a malformed request gets 400.
use std::env;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

struct Request {
    method: String,
    path: String,
    keep_alive: bool,
    body: Vec<u8>,
}

async fn read_request<R: AsyncBufReadExt + Unpin>(r: &mut R) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if r.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (method, path, version) = match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(p), Some(v)) => (m.to_string(), p.to_string(), v.to_string()),
        _ => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "bad request line")),
    };
    let mut keep_alive = version == "HTTP/1.1";
    let mut length = 0usize;
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "bad length")
                })?;
            } else if name.eq_ignore_ascii_case("connection") {
                keep_alive = !value.eq_ignore_ascii_case("close");
            }
        }
    }
    let mut body = vec![0u8; length];
    r.read_exact(&mut body).await?;
    Ok(Some(Request { method, path, keep_alive, body }))
}

async fn serve(stream: TcpStream) -> std::io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    loop {
        let req = match read_request(&mut rd).await {
            Ok(Some(req)) => req,
            Ok(None) => return Ok(()),
            Err(_) => {
                wr.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await?;
                return Ok(());
            }
        };
        let (status, body): (&str, &[u8]) = match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/") => ("200 OK", b"hello\n"),
            ("POST", "/echo") => ("200 OK", &req.body),
            _ => ("404 Not Found", b"not found\n"),
        };
        let head = format!(
            "HTTP/1.1 {}\r\ncontent-length: {}\r\nconnection: {}\r\n\r\n",
            status,
            body.len(),
            if req.keep_alive { "keep-alive" } else { "close" }
        );
        wr.write_all(head.as_bytes()).await?;
        wr.write_all(body).await?;
        if !req.keep_alive {
            return Ok(());
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?.port());
    loop {
        tokio::select! {
            conn = listener.accept() => {
                let (stream, _) = conn?;
                tokio::spawn(async move {
                    let _ = serve(stream).await;
                });
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(())
}
