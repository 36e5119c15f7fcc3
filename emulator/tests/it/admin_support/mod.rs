//! Shared by the admin API tests: requests over real HTTP/1.1 and a server on loopback.
#![allow(dead_code)] // each test file uses its own subset

use std::net::SocketAddr;

use berth_emulator::admin::AdminServer;
use berth_emulator::entity::Namespace;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub async fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    request_as(addr, method, path, body, None).await
}

/// A request with an `Authorization` header when `token` is given.
pub async fn request_as(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let authorization = token.map_or(String::new(), |t| format!("Authorization: {t}\r\n"));
    let text = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let status: u16 = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap()
    };
    (status, value)
}

pub async fn start() -> (Namespace, AdminServer) {
    let namespace = Namespace::in_memory();
    let server = AdminServer::start(
        "127.0.0.1:0".parse().unwrap(),
        namespace.clone(),
        Default::default(),
    )
    .await
    .unwrap();
    (namespace, server)
}
