//! A fault-injecting TCP proxy for reliability tests: it sits between a client (a host) and a
//! server (a broker) on loopback, forwards bytes both ways, and on command from the test
//! cuts connections (now, or at a random byte so the cut lands inside a frame), stalls them
//! (a black hole: the sockets stay open, nothing more is forwarded), and delays and fragments
//! writes (each read is written in small chunks with a pause between them).
//!
//! Plain threads and blocking sockets: two forwarding threads per connection, one for each
//! direction, and one accepting thread. Every random choice comes from one seed (see
//! [`fault_seed`]), so the faults a failing run injected can be injected again.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How writes are shaped: each chunk read is written in pieces of 1..=`max_chunk` bytes
/// (sizes drawn from the connection's seeded generator), `delay` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shaping {
    /// The largest piece written at once; 0 = no fragmenting.
    pub max_chunk: usize,
    /// The pause before each piece.
    pub delay: Duration,
}

/// A running proxy. Dropping it cuts every connection and stops accepting.
pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    seed: u64,
}

struct Shared {
    target: SocketAddr,
    seed: u64,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    links: BTreeMap<u64, Link>,
    next_id: u64,
    shaping: Shaping,
    cuts: u64,
    closed: bool,
    /// Draws the test's commanded choices (which connection, which byte).
    control: SplitMix,
}

/// One proxied connection: both sockets (clones, for cutting) and what was commanded.
struct Link {
    client: TcpStream,
    server: TcpStream,
    stalled: bool,
    /// Bytes still forwarded (either way) before the link is cut.
    cut_after: Option<u64>,
    rng: SplitMix,
    /// Directions still forwarding; the link is forgotten when both ended.
    open_directions: u8,
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1:<any port>` forwarding to `target`; `seed` drives every
    /// random choice.
    pub fn start(target: SocketAddr, seed: u64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            target,
            seed,
            state: Mutex::new(State {
                control: SplitMix(seed),
                ..State::default()
            }),
            changed: Condvar::new(),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || accept(&listener, &accepting));
        FaultProxy {
            address,
            shared,
            seed,
        }
    }

    /// Where clients connect.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The seed this proxy draws its random choices from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// How many connections are open through the proxy now.
    pub fn open_connections(&self) -> usize {
        self.shared.lock().links.len()
    }

    /// How many connections the proxy has cut so far (at once or at their armed byte).
    pub fn cuts(&self) -> u64 {
        self.shared.lock().cuts
    }

    /// Cuts every open connection now; returns how many.
    pub fn cut_all(&self) -> usize {
        let mut state = self.shared.lock();
        let ids: Vec<u64> = state.links.keys().copied().collect();
        for id in &ids {
            cut(&mut state, *id);
        }
        self.shared.changed.notify_all();
        ids.len()
    }

    /// Cuts one open connection, chosen at random, now; returns whether there was one.
    pub fn cut_one(&self) -> bool {
        let mut state = self.shared.lock();
        let ids: Vec<u64> = state.links.keys().copied().collect();
        if ids.is_empty() {
            return false;
        }
        let pick = state.control.below(ids.len() as u64) as usize;
        cut(&mut state, ids[pick]);
        self.shared.changed.notify_all();
        true
    }

    /// Arms every open connection to be cut after a random number of further bytes
    /// (1..=`max_bytes`, either direction), so the cut lands at a random point of the
    /// traffic, usually inside a frame; returns how many were armed. [`cuts`](Self::cuts)
    /// counts them when they happen.
    pub fn cut_at_random_point(&self, max_bytes: u64) -> usize {
        let mut state = self.shared.lock();
        let ids: Vec<u64> = state.links.keys().copied().collect();
        for id in &ids {
            let bytes = 1 + state.control.below(max_bytes.max(1));
            if let Some(link) = state.links.get_mut(id) {
                link.cut_after = Some(bytes);
            }
        }
        ids.len()
    }

    /// Stops forwarding on every open connection, both ways, keeping the sockets open (a
    /// black hole: nothing arrives, nothing is refused); returns how many. New connections
    /// are forwarded as usual.
    pub fn stall_all(&self) -> usize {
        let mut state = self.shared.lock();
        for link in state.links.values_mut() {
            link.stalled = true;
        }
        state.links.len()
    }

    /// Forwards again on every stalled connection still open.
    pub fn resume_all(&self) {
        let mut state = self.shared.lock();
        for link in state.links.values_mut() {
            link.stalled = false;
        }
        self.shared.changed.notify_all();
    }

    /// Shapes every write from now on (all connections, both ways).
    pub fn shape(&self, shaping: Shaping) {
        self.shared.lock().shaping = shaping;
    }

    /// Waits (polling, at most `limit`) until at least one connection is open through the
    /// proxy, e.g. the client's next one after a cut.
    pub fn wait_for_connection(&self, limit: Duration) {
        crate::wait::poll_until(
            "a connection through the proxy",
            limit,
            || self.open_connections() > 0,
            || "no open connection",
        );
    }

    /// Waits (polling, at most `limit`) until the proxy has cut at least `cuts` connections.
    pub fn wait_for_cuts(&self, cuts: u64, limit: Duration) {
        let what = format!("{cuts} cuts by the proxy (traffic reaching the armed byte)");
        crate::wait::poll_until(&what, limit, || self.cuts() >= cuts, || self.cuts());
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.cut_all();
        // Wake the accepting thread so it sees `closed`.
        let _ = TcpStream::connect(self.address);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Shuts both sockets of link `id` down (the peers see the connection end) and counts it.
fn cut(state: &mut State, id: u64) {
    if let Some(link) = state.links.remove(&id) {
        let _ = link.client.shutdown(Shutdown::Both);
        let _ = link.server.shutdown(Shutdown::Both);
        state.cuts += 1;
    }
}

fn accept(listener: &TcpListener, shared: &Arc<Shared>) {
    for client in listener.incoming() {
        if shared.lock().closed {
            return;
        }
        let Ok(client) = client else { continue };
        let Ok(server) = TcpStream::connect(shared.target) else {
            // The server is down: the client sees its connection refused, as it would.
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = (client.set_nodelay(true), server.set_nodelay(true));
        let id = {
            let mut state = shared.lock();
            let id = state.next_id;
            state.next_id += 1;
            let link = Link {
                client: client.try_clone().unwrap(),
                server: server.try_clone().unwrap(),
                stalled: false,
                cut_after: None,
                rng: SplitMix(shared.seed ^ (id + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                open_directions: 2,
            };
            state.links.insert(id, link);
            id
        };
        let (to_server, to_client) = (server.try_clone().unwrap(), client.try_clone().unwrap());
        let up = shared.clone();
        std::thread::spawn(move || forward(&up, id, client, to_server));
        let down = shared.clone();
        std::thread::spawn(move || forward(&down, id, server, to_client));
    }
}

/// Forwards `from` → `to` for link `id` until either side ends or the link is cut.
fn forward(shared: &Shared, id: u64, mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if deliver(shared, id, &buffer[..n], &mut to).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let mut state = shared.lock();
    if let Some(link) = state.links.get_mut(&id) {
        link.open_directions -= 1;
        if link.open_directions == 0 {
            state.links.remove(&id);
        }
    }
}

/// Writes `bytes` to `to` as the link's commands say: held while stalled, in shaped pieces,
/// and only up to an armed cut. `Err` when the link is (or was just) cut or `to` failed.
fn deliver(shared: &Shared, id: u64, mut bytes: &[u8], to: &mut TcpStream) -> Result<(), ()> {
    while !bytes.is_empty() {
        let (piece, delay, cut_here) = {
            let mut state = shared.lock();
            // A black hole: wait, holding what was read, until resumed or cut.
            while state.links.get(&id).is_some_and(|l| l.stalled) {
                state = shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            let shaping = state.shaping;
            let Some(link) = state.links.get_mut(&id) else {
                return Err(());
            };
            let mut piece = bytes.len();
            if shaping.max_chunk > 0 {
                piece = piece.min(1 + link.rng.below(shaping.max_chunk as u64) as usize);
            }
            let mut cut_here = false;
            if let Some(left) = link.cut_after {
                if left <= piece as u64 {
                    piece = left as usize;
                    cut_here = true;
                } else {
                    link.cut_after = Some(left - piece as u64);
                }
            }
            (piece, shaping.delay, cut_here)
        };
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        to.write_all(&bytes[..piece]).map_err(drop)?;
        if cut_here {
            let mut state = shared.lock();
            cut(&mut state, id);
            shared.changed.notify_all();
            return Err(());
        }
        bytes = &bytes[piece..];
    }
    Ok(())
}

/// A small seeded generator (SplitMix64): enough for choosing faults, and the same choices
/// for the same seed.
#[derive(Default)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

/// The seed for a test's faults: `BERTH_FAULT_SEED` when set (to replay a failed run),
/// otherwise `default`; printed either way so a failure can be replayed.
pub fn fault_seed(default: u64) -> u64 {
    let seed = std::env::var("BERTH_FAULT_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default);
    eprintln!("fault seed {seed} (BERTH_FAULT_SEED={seed} injects the same faults again)");
    seed
}

/// A generator for a test's own random choices (which fault, when), from a fault seed.
pub struct FaultDice(SplitMix);

impl FaultDice {
    /// Dice seeded with `seed`.
    pub fn new(seed: u64) -> FaultDice {
        FaultDice(SplitMix(seed.rotate_left(17) ^ 0x5DEE_CE66))
    }

    /// A number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0.below(bound)
    }
}

#[cfg(test)]
#[path = "fault_proxy_tests.rs"]
mod tests;
