"""Get and set session state; the state outlives the receiver; setting None clears it."""
from common import client, done, emit, env, expect

queue = env("SB_QUEUE")
with client() as sb:
    with sb.get_queue_receiver(queue, session_id="state", max_wait_time=5) as receiver:
        initial = receiver.session.get_state()
        emit("state", value=initial)
        expect("initial state", initial, None)
        receiver.session.set_state(b"checkpoint-1")
        expect("state after set", receiver.session.get_state(), b"checkpoint-1")
        emit("state_set")
    with sb.get_queue_receiver(queue, session_id="state", max_wait_time=5) as receiver:
        kept = receiver.session.get_state()
        emit("state", value=kept.decode() if kept else None)
        expect("state after re-accept", kept, b"checkpoint-1")
        receiver.session.set_state(None)
        expect("state after clear", receiver.session.get_state(), None)
        emit("state_cleared")
done()
