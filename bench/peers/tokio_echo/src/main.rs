//! Tokio current_thread echo server: the Tokio peer of weft's echo benchmark
//! (bench/echo/run.sh).
//!
//! The classic Tokio echo: a TcpListener accept loop on a current_thread
//! runtime, one spawned task per connection that reads into its own buffer
//! and write_all()s what it read. The buffer is 64 KiB (the README's example
//! uses 1 KiB, which would split a 4 KiB message into four reads and four
//! writes), allocated once per connection.
//!
//! usage: tokio_echo [--port P] (default 0: any free port)
//! Listens on 127.0.0.1 only, prints "listening on PORT", serves until
//! SIGINT/SIGTERM (default action: the process ends).

use std::io::Write;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn main() {
    let mut port: u16 = 0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--port", Some(p)) => port = p.parse().expect("--port takes a number"),
            _ => {
                eprintln!("usage: tokio_echo [--port P]");
                std::process::exit(2);
            }
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        println!("listening on {}", listener.local_addr().unwrap().port());
        std::io::stdout().flush().unwrap();
        loop {
            let (mut socket, _) = match listener.accept().await {
                Ok(s) => s,
                Err(_) => continue,
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                loop {
                    let n = match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if socket.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
}
