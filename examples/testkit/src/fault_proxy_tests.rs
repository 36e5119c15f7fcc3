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

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "waited 10 s for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
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

#[test]
fn a_random_point_cut_stops_within_the_armed_bytes_and_repeats_with_the_seed() {
    let forwarded = |seed| {
        let proxy = FaultProxy::start(echo_server(), seed);
        let mut stream = connect(&proxy);
        stream.write_all(b"x").unwrap();
        assert_eq!(read_n(&mut stream, 1), b"x");
        assert_eq!(proxy.cut_at_random_point(1_000), 1);
        // Up and back: what reaches the client is what the cut let through both ways.
        let _ = stream.write_all(&[1u8; 2_000]);
        let echoed = read_n(&mut stream, 4_000).len();
        proxy.wait_for_cuts(1, Duration::from_secs(10));
        echoed
    };
    let (a, b) = (forwarded(42), forwarded(42));
    assert_eq!(a, b, "the same seed cuts at the same byte");
    assert!(
        a < 1_000,
        "{a} bytes came back through a cut armed within 1,000"
    );
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
