//! An entry point into the verdict tap's frame follower for the fuzz targets in `fuzz/`
//! (see FUZZING.md): the broker's byte stream, as a socket would deliver it, followed for
//! verdicts exactly as [`super::VerdictTap`] does. Not an API: hidden from the docs.

use std::sync::Arc;

use super::frames::{Event, FrameFollower};
use super::registry::{Expected, Verdicts};

/// Names of the links the follower watches; a stream that attaches them gets waiters on
/// delivery-ids `0..4`, so that dispositions and detaches reach the decoding of outcomes
/// and errors.
pub const WATCHED_LINKS: [&str; 2] = ["fuzz-receiver-0", "fuzz-receiver-1"];

/// Follows `stream` (the broker's side of a connection), delivered in two reads split at
/// `split`. Returns how many events the stream produced before it ended or could not be
/// followed.
pub fn follow_broker_stream(stream: &[u8], split: usize) -> usize {
    let verdicts = Arc::new(Verdicts::default());
    let watches: Vec<_> = WATCHED_LINKS.iter().map(|n| verdicts.watch(n)).collect();
    let mut waits: Vec<Expected> = Vec::new();
    let mut follower = FrameFollower::default();
    let mut events = 0;
    let (first, second) = stream.split_at(split.min(stream.len()));
    for read in [first, second] {
        let followed = follower.feed(read, &mut |event| {
            events += 1;
            let attached = matches!(event, Event::Attach { .. });
            verdicts.on_event(event);
            if attached {
                for watch in &watches {
                    waits.extend((0..4).filter_map(|id| watch.expect(id).ok()));
                }
            }
        });
        if let Err(e) = followed {
            verdicts.on_lost(&e.to_string());
            break;
        }
    }
    events
}
