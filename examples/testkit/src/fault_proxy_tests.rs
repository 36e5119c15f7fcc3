use super::*;

/// An echo server on loopback: every connection gets back what it sends.
fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = stream.try_clone().unwrap();
                let _ = std::io::copy(&mut reader, &mut stream);
            });
        }
    });
    address
}

fn connect(proxy: &FaultProxy) -> TcpStream {
    let stream = TcpStream::connect(proxy.address()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads until `n` bytes or the end of the stream.
fn read_n(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        match stream.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) => panic!("read failed after {filled} bytes: {e}"),
        }
    }
    out.truncate(filled);
    out
}

fn wait_until(what: &str, done: impl FnMut() -> bool) {
    crate::wait::poll_until(what, Duration::from_secs(10), done, || "not yet");
}

#[test]
fn forwards_both_ways_in_order_even_fragmented_and_delayed() {
    let proxy = FaultProxy::start(echo_server(), 7);
    proxy.shape(Shaping {
        max_chunk: 7,
        delay: Duration::from_micros(200),
    });
    let mut stream = connect(&proxy);
    let sent: Vec<u8> = (0..5_000u32).map(|i| (i % 251) as u8).collect();
    stream.write_all(&sent).unwrap();
    assert_eq!(read_n(&mut stream, sent.len()), sent);
    assert_eq!(proxy.open_connections(), 1);
    assert_eq!(proxy.cuts(), 0);
}

#[test]
fn a_cut_ends_the_connection_and_new_ones_still_work() {
    let proxy = FaultProxy::start(echo_server(), 7);
    let mut first = connect(&proxy);
    first.write_all(b"ping").unwrap();
    assert_eq!(read_n(&mut first, 4), b"ping");
    assert_eq!(proxy.cut_all(), 1);
    assert_eq!(
        read_n(&mut first, 1),
        b"",
        "the cut connection reads its end"
    );
    assert_eq!(proxy.cuts(), 1);
    let mut second = connect(&proxy);
    second.write_all(b"pong").unwrap();
    assert_eq!(read_n(&mut second, 4), b"pong");
    assert!(proxy.cut_one());
    assert_eq!(read_n(&mut second, 1), b"");
    wait_until("no connection left", || proxy.open_connections() == 0);
    assert!(!proxy.cut_one());
}

/// A server on loopback that echoes each connection's first byte (so the client knows the
/// link is up) and then only counts what arrives until the end of the stream, reporting the
/// count on the returned channel. Traffic after the first byte flows one way, so a cut's
/// armed byte count is exactly what reaches it.
fn counting_server() -> (SocketAddr, std::sync::mpsc::Receiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (counts, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let counts = counts.clone();
            std::thread::spawn(move || {
                let mut first = [0u8; 1];
                if stream.read_exact(&mut first).is_err() || stream.write_all(&first).is_err() {
                    return;
                }
                let counted = std::io::copy(&mut stream, &mut std::io::sink()).unwrap_or(0);
                let _ = counts.send(counted as usize);
            });
        }
    });
    (address, received)
}

#[test]
fn a_random_point_cut_stops_within_the_armed_bytes_and_repeats_with_the_seed() {
    let forwarded = |seed| {
        let (server, counts) = counting_server();
        let proxy = FaultProxy::start(server, seed);
        let mut stream = connect(&proxy);
        stream.write_all(b"x").unwrap();
        assert_eq!(read_n(&mut stream, 1), b"x");
        assert_eq!(proxy.cut_at_random_point(1_000), 1);
        let _ = stream.write_all(&[1u8; 2_000]);
        proxy.wait_for_cuts(1, Duration::from_secs(10));
        counts
            .recv_timeout(Duration::from_secs(10))
            .expect("the server reports what reached it once the cut closes the link")
    };
    let (a, b) = (forwarded(42), forwarded(42));
    assert_eq!(a, b, "the same seed cuts at the same byte");
    assert!(
        (1..=1_000).contains(&a),
        "{a} bytes went through a cut armed within 1 to 1,000"
    );
    assert_ne!(forwarded(7), a, "another seed cuts elsewhere");
}

#[test]
fn a_stall_holds_everything_until_resumed_while_new_connections_flow() {
    let proxy = FaultProxy::start(echo_server(), 7);
    let mut stalled = connect(&proxy);
    stalled.write_all(b"a").unwrap();
    assert_eq!(read_n(&mut stalled, 1), b"a");
    assert_eq!(proxy.stall_all(), 1);
    stalled.write_all(b"held").unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    let quiet = stalled.read(&mut byte);
    assert!(
        quiet.is_err(),
        "nothing may come through a stall: {quiet:?}"
    );
    let mut fresh = connect(&proxy);
    fresh.write_all(b"new").unwrap();
    assert_eq!(read_n(&mut fresh, 3), b"new");
    proxy.resume_all();
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(read_n(&mut stalled, 4), b"held");
}
