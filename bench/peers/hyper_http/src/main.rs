//! hyper 0.14 on a current_thread Tokio runtime, answering the
//! TechEmpower plaintext (/plaintext) and JSON (/json) tests with the same
//! bytes as weft's http_hello: `hyper_http --port P` prints
//! "listening on PORT" and serves until killed. Pipelining is enabled
//! (pipeline_flush), as in hyper's TechEmpower entry.
use std::convert::Infallible;
use std::net::SocketAddr;

use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, SERVER};
use hyper::server::conn::Http;
use hyper::service::service_fn;
use hyper::{Body, Request, Response};

static PLAIN: &[u8] = b"Hello, World!";
static JSON: &[u8] = b"{\"message\":\"Hello, World!\"}";

async fn handle(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let (body, ctype) = if req.uri().path() == "/json" {
        (JSON, "application/json")
    } else {
        (PLAIN, "text/plain")
    };
    let mut res = Response::new(Body::from(body));
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(SERVER, HeaderValue::from_static("hyper"));
    h.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    Ok(res)
}

fn main() {
    let mut port: u16 = 8080;
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i + 1 < args.len() {
        if args[i] == "--port" {
            port = args[i + 1].parse().expect("port");
        }
        i += 2;
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        println!("listening on {}", listener.local_addr().unwrap().port());
        let mut http = Http::new();
        http.http1_only(true).pipeline_flush(true);
        loop {
            let (sock, _) = match listener.accept().await {
                Ok(s) => s,
                Err(_) => continue,
            };
            let _ = sock.set_nodelay(true);
            let conn = http.serve_connection(sock, service_fn(handle));
            tokio::task::spawn(async move {
                let _ = conn.await;
            });
        }
    });
}
