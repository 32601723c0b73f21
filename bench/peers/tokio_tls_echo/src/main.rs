//! Tokio current_thread TLS echo server on tokio-openssl: the Tokio peer of
//! weft's TLS echo benchmark (bench/tls/run.sh).
//!
//! A TcpListener accept loop on a current_thread runtime, one spawned task
//! per connection: the TLS handshake (SslStream::accept), then read into a
//! 64 KiB buffer and write_all what was read — the same shape as weft's
//! bench/tls/weft_tls_echo.c. OpenSSL is the system's (openssl-sys), as for
//! weft-tls, with the same certificate and the same cipher suite (the load
//! generator offers only one).
//!
//! usage: tokio_tls_echo --cert CHAIN.pem --key KEY.pem [--port P]
//! Listens on 127.0.0.1 only, prints "listening on PORT", serves until
//! SIGINT/SIGTERM (default action: the process ends).

use std::io::Write;
use std::pin::Pin;

use openssl::ssl::{Ssl, SslAcceptor, SslFiletype, SslMethod};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_openssl::SslStream;

fn main() {
    let mut port: u16 = 0;
    let (mut cert, mut key) = (String::new(), String::new());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--port", Some(p)) => port = p.parse().expect("--port takes a number"),
            ("--cert", Some(p)) => cert = p,
            ("--key", Some(p)) => key = p,
            _ => {
                eprintln!("usage: tokio_tls_echo --cert CHAIN --key KEY [--port P]");
                std::process::exit(2);
            }
        }
    }
    let mut acc = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).expect("acceptor");
    acc.set_certificate_chain_file(&cert).expect("certificate");
    acc.set_private_key_file(&key, SslFiletype::PEM).expect("key");
    acc.check_private_key().expect("key matches");
    let acceptor = acc.build();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        println!("listening on {}", listener.local_addr().unwrap().port());
        std::io::stdout().flush().unwrap();
        loop {
            let (socket, _) = match listener.accept().await {
                Ok(s) => s,
                Err(_) => continue,
            };
            let _ = socket.set_nodelay(true);
            let ssl = Ssl::new(acceptor.context()).expect("ssl");
            tokio::spawn(async move {
                let mut tls = match SslStream::new(ssl, socket) {
                    Ok(s) => s,
                    Err(_) => return,
                };
                if Pin::new(&mut tls).accept().await.is_err() {
                    return;
                }
                let mut buf = vec![0u8; 65536];
                loop {
                    let n = match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if tls.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
}
