//! A loopback TCP proxy in front of the broker that, once armed, cuts the connection that
//! carries the client's next `disposition`: that frame is not forwarded and both sockets are
//! closed, so the client never hears the broker's verdict. Later connections pass through.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// The proxy; dropping it stops accepting (open connections run on).
pub struct CutProxy {
    /// Where clients connect.
    pub address: std::net::SocketAddr,
    armed: Arc<AtomicBool>,
    cut: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl CutProxy {
    /// A proxy to `broker` on a free loopback port.
    pub async fn start(broker: std::net::SocketAddr) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (armed, cut) = (Arc::new(AtomicBool::new(false)), Arc::new(Notify::new()));
        let task = {
            let (armed, cut) = (armed.clone(), cut.clone());
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(broker).await else {
                        continue;
                    };
                    tokio::spawn(pass(client, server, armed.clone(), cut.clone()));
                }
            })
        };
        CutProxy {
            address,
            armed,
            cut,
            task,
        }
    }

    /// The switch that arms the proxy: set, it cuts at the client's next disposition.
    pub fn switch(&self) -> Arc<AtomicBool> {
        self.armed.clone()
    }

    /// Waits until a connection was cut.
    pub async fn cut(&self) {
        self.cut.notified().await
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pass(client: TcpStream, server: TcpStream, armed: Arc<AtomicBool>, cut: Arc<Notify>) {
    let (client_read, mut client_write) = client.into_split();
    let (mut server_read, server_write) = server.into_split();
    tokio::select! {
        _ = tokio::io::copy(&mut server_read, &mut client_write) => {}
        _ = forward(client_read, server_write, &armed) => cut.notify_one(),
    }
    // Both sockets close here.
}

/// Copies the client's frames to the broker until an armed disposition (or the end).
async fn forward(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, armed: &AtomicBool) {
    loop {
        let mut head = [0u8; 8];
        if from.read_exact(&mut head).await.is_err() {
            return std::future::pending().await;
        }
        let mut frame = head.to_vec();
        if &head[..4] != b"AMQP" {
            let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
            frame.resize(size.max(8), 0);
            if from.read_exact(&mut frame[8..]).await.is_err() {
                return std::future::pending().await;
            }
            let body = &frame[usize::from(head[4]) * 4..];
            let disposition = head[5] == 0 && body.starts_with(&[0x00, 0x53, 0x15]);
            if disposition && armed.swap(false, Ordering::SeqCst) {
                return;
            }
        }
        if to.write_all(&frame).await.is_err() {
            return std::future::pending().await;
        }
    }
}
