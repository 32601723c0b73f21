// A line-based chat server: every line a client sends goes to every other
// client. Stops on Ctrl-C.
use std::env;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

#[derive(Clone)]
struct Line {
    from: u64,
    text: String,
}

async fn client(stream: TcpStream, id: u64, tx: broadcast::Sender<Line>) {
    let mut rx = tx.subscribe();
    let (rd, mut wr) = stream.into_split();
    let mut lines = BufReader::new(rd).lines();
    let _ = tx.send(Line { from: id, text: format!("* client {} joined\n", id) });
    loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(text)) => {
                    let _ = tx.send(Line { from: id, text: format!("{}: {}\n", id, text) });
                }
                _ => break,
            },
            msg = rx.recv() => match msg {
                Ok(m) if m.from != id => {
                    if wr.write_all(m.text.as_bytes()).await.is_err() {
                        break;
                    }
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            },
        }
    }
    let _ = tx.send(Line { from: id, text: format!("* client {} left\n", id) });
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?.port());
    let (tx, _) = broadcast::channel(64);
    let mut next_id = 0;
    loop {
        tokio::select! {
            conn = listener.accept() => {
                let (stream, _) = conn?;
                next_id += 1;
                tokio::spawn(client(stream, next_id, tx.clone()));
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(())
}
