// A TCP proxy: every connection to LISTEN is relayed to UPSTREAM, both
// ways, until both sides are done or nothing moves for IDLE seconds.
use std::env;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

async fn relay(mut client: TcpStream, upstream: String, idle: Duration) -> std::io::Result<()> {
    let mut server = TcpStream::connect(upstream).await?;
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let (mut cbuf, mut sbuf) = (vec![0u8; 16384], vec![0u8; 16384]);
    let (mut c_open, mut s_open) = (true, true);
    while c_open || s_open {
        let step = timeout(idle, async {
            tokio::select! {
                n = cr.read(&mut cbuf), if c_open => match n? {
                    0 => { c_open = false; sw.shutdown().await }
                    n => sw.write_all(&cbuf[..n]).await,
                },
                n = sr.read(&mut sbuf), if s_open => match n? {
                    0 => { s_open = false; cw.shutdown().await }
                    n => cw.write_all(&sbuf[..n]).await,
                },
            }
        })
        .await;
        match step {
            Ok(r) => r?,
            Err(_) => break, // idle
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = env::args().collect();
    let listen = args.get(1).cloned().unwrap_or_else(|| "127.0.0.1:0".to_string());
    let upstream = args.get(2).cloned().expect("usage: proxy LISTEN UPSTREAM [IDLE_SECS]");
    let idle = Duration::from_secs(args.get(3).map(|s| s.parse().unwrap()).unwrap_or(30));
    let listener = TcpListener::bind(&listen).await?;
    println!("listening on {}", listener.local_addr()?.port());
    loop {
        tokio::select! {
            conn = listener.accept() => {
                let (client, _) = conn?;
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    if let Err(e) = relay(client, upstream, idle).await {
                        eprintln!("proxy: {}", e);
                    }
                });
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(())
}
