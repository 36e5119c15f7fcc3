//! `host health`: one HTTP GET of the ops listener's `/healthz`, for a container health
//! check on an image without curl (distroless). Exit 0 on `200`, 1 otherwise, with the
//! reason on stderr.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::load::report;
use super::{parse_timeout, ConfigArgs};
use crate::config;

/// The most of an answer that is read: the status line and the start of the body.
const MAX_ANSWER: usize = 16 * 1024;

/// `host health` options.
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// The URL to GET (plain http). Default: `/healthz` on `[ops] address` (or
    /// BERTH__ops__address), with 0.0.0.0 / `[::]` taken as the loopback address.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Give up after this long.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// Configuration files (and BERTH__… variables), for the default URL.
    #[command(flatten)]
    pub files: ConfigArgs,
}

/// Runs `host health`.
pub(crate) fn run(args: HealthArgs) -> ExitCode {
    let url = match args.url {
        Some(url) => url,
        None => match default_url(&args.files) {
            Ok(url) => url,
            Err(errors) => {
                report(&errors);
                return ExitCode::FAILURE;
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("unhealthy: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(probe(&url, args.timeout)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("unhealthy: {url}: {reason}");
            ExitCode::FAILURE
        }
    }
}

/// `/healthz` on the configured ops address.
fn default_url(files: &ConfigArgs) -> Result<String, Vec<String>> {
    let (path, explicit) = match &files.config {
        Some(path) => (path.clone(), true),
        None => (config::DEFAULT_HOST_CONFIG.into(), false),
    };
    let config = config::load_host_config_with_env(&path, explicit, super::load::host_env())
        .map_err(|e| vec![format!("error: {e}")])?;
    match config.ops.address {
        Some(address) => Ok(format!("http://{}/healthz", loopback_for(address))),
        None => Err(vec![
            "error: no ops listener is configured: set [ops] address in host.toml or \
             BERTH__ops__address, or pass --url"
                .to_owned(),
        ]),
    }
}

/// The address to reach a listener bound to `address` from the same machine.
fn loopback_for(address: SocketAddr) -> SocketAddr {
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, address.port())
}

/// GETs `url` (`http://host[:port][/path]`): `Ok` when it answers `200`, otherwise why not
/// (the status and the first line of the body, or the connection error).
pub async fn probe(url: &str, timeout: Duration) -> Result<(), String> {
    let (authority, path) = split_url(url)?;
    let answer = tokio::time::timeout(timeout, get(authority, path))
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))??;
    let (status_line, body) = match answer.split_once("\r\n") {
        Some((status, rest)) => (status, rest.split_once("\r\n\r\n").map_or("", |(_, b)| b)),
        None => (answer.as_str(), ""),
    };
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next().unwrap_or_default(), parts.next());
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP answer: {:?}", truncate(status_line)));
    }
    match code {
        Some("200") => Ok(()),
        Some(_) => {
            let reason = body.lines().next().map(str::trim).unwrap_or_default();
            Err(if reason.is_empty() {
                status_line.to_owned()
            } else {
                format!("{status_line}: {}", truncate(reason))
            })
        }
        None => Err(format!("no status code in {:?}", truncate(status_line))),
    }
}

/// `http://authority/path` → (`authority` with a port, `/path`).
fn split_url(url: &str) -> Result<(String, &str), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{url}` is not a plain http:// URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("`{url}` names no host"));
    }
    let has_port = match authority.rfind(']') {
        Some(end) => authority[end..].contains(':'),
        None => authority.contains(':'),
    };
    let authority = if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((authority, path))
}

/// Sends the request and reads the answer (at most [`MAX_ANSWER`] bytes).
async fn get(authority: String, path: &str) -> Result<String, String> {
    let address = authority
        .trim_start_matches('[')
        .replacen("]:", ":", 1)
        .rsplit_once(':')
        .map(|(host, port)| (host.to_owned(), port.to_owned()))
        .ok_or_else(|| format!("no port in `{authority}`"))?;
    let port: u16 = address
        .1
        .parse()
        .map_err(|_| format!("`{}` is not a port", address.1))?;
    let mut stream = TcpStream::connect((address.0.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: berth-health\r\n\
         Connection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut answer = Vec::with_capacity(1024);
    let mut limited = (&mut stream).take(MAX_ANSWER as u64);
    limited
        .read_to_end(&mut answer)
        .await
        .map_err(|e| format!("cannot read the answer: {e}"))?;
    if answer.is_empty() {
        return Err("the connection closed without an answer".to_owned());
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

fn truncate(text: &str) -> &str {
    match text.char_indices().nth(200) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_authority_with_port_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/healthz").unwrap(),
            ("127.0.0.1:8080".to_owned(), "/healthz")
        );
        assert_eq!(
            split_url("http://localhost").unwrap(),
            ("localhost:80".to_owned(), "/")
        );
        assert_eq!(
            split_url("http://[::1]/readyz").unwrap(),
            ("[::1]:80".to_owned(), "/readyz")
        );
        assert!(split_url("https://x/").unwrap_err().contains("plain http"));
        assert!(split_url("http:///x")
            .unwrap_err()
            .contains("names no host"));
    }

    #[test]
    fn unspecified_addresses_are_reached_on_loopback() {
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(loopback_for(any).to_string(), "127.0.0.1:8080");
        let any6: SocketAddr = "[::]:9000".parse().unwrap();
        assert_eq!(loopback_for(any6).to_string(), "[::1]:9000");
        let fixed: SocketAddr = "10.0.0.5:80".parse().unwrap();
        assert_eq!(loopback_for(fixed), fixed);
    }
}
