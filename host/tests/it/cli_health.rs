//! `host health` against a tiny local HTTP listener.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread::JoinHandle;
use std::time::Duration;

/// Answers one request with `answer`; the thread returns the request's first line.
fn serve_once(answer: &'static str) -> (String, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/healthz", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
            line.clear();
        }
        reader.get_mut().write_all(answer.as_bytes()).unwrap();
        first.trim_end().to_owned()
    });
    (url, handle)
}

const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
const NOT_READY: &str = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 31\r\n\r\ndraining: the host is stopping\n";

fn probe(url: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(berth_host::cli::probe(url, Duration::from_secs(10)))
}

#[test]
fn a_200_is_healthy_and_the_request_is_a_plain_get() {
    let (url, server) = serve_once(OK);
    assert_eq!(probe(&url), Ok(()));
    assert_eq!(server.join().unwrap(), "GET /healthz HTTP/1.1");
}

#[test]
fn another_status_is_unhealthy_with_the_status_and_the_bodys_first_line() {
    let (url, server) = serve_once(NOT_READY);
    assert_eq!(
        probe(&url),
        Err("HTTP/1.1 503 Service Unavailable: draining: the host is stopping".to_owned())
    );
    server.join().unwrap();
}

#[test]
fn a_closed_port_and_a_non_http_answer_are_unhealthy() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/healthz", listener.local_addr().unwrap());
    drop(listener);
    assert!(probe(&url).unwrap_err().starts_with("cannot connect to"));
    let (url, server) = serve_once("SSH-2.0-OpenSSH\r\n");
    assert!(probe(&url).unwrap_err().starts_with("not an HTTP answer"));
    server.join().unwrap();
}

/// Runs `host health` with `args` and extra environment variables; (exit code, stderr).
fn health(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_host"))
        .arg("health")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn the_command_exits_0_on_200_and_1_with_the_reason_otherwise() {
    let (url, server) = serve_once(OK);
    let (code, stderr) = health(&["--url", &url], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    server.join().unwrap();

    let (url, server) = serve_once(NOT_READY);
    let (code, stderr) = health(&["--url", &url], &[]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("unhealthy:") && stderr.contains("503"),
        "{stderr}"
    );
    server.join().unwrap();
}

#[test]
fn without_a_url_the_ops_address_comes_from_the_environment() {
    let (url, server) = serve_once(OK);
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches("/healthz")
        .to_owned();
    let (code, stderr) = health(&[], &[("BERTH__ops__address", &address)]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(server.join().unwrap(), "GET /healthz HTTP/1.1");

    let (code, stderr) = health(&["--config", "/nonexistent/host.toml"], &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("file not found"), "{stderr}");
    let (code, stderr) = health(&[], &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no ops listener is configured"), "{stderr}");
}
