"""Session listing (get-message-sessions): sessions with messages or state; with
state_updated_after, only those whose state changed since."""
from datetime import datetime, timedelta, timezone

from azure.servicebus import ServiceBusMessage

from common import client, done, emit, env, expect

queue = env("SB_QUEUE")
with client() as sb:
    with sb.get_queue_sender(queue) as sender:
        sender.send_messages([ServiceBusMessage("x", session_id=s) for s in ("a", "b", "c")])
    before_state = datetime.now(timezone.utc) - timedelta(seconds=1)
    with sb.get_queue_receiver(queue, session_id="st", max_wait_time=5) as receiver:
        receiver.session.set_state(b"kept")
    listed = sorted(sb.list_queue_sessions(queue))
    emit("listed", sessions=listed)
    expect("sessions with messages or state", listed, ["a", "b", "c", "st"])
    updated = sorted(sb.list_queue_sessions(queue, state_updated_after=before_state))
    emit("listed_updated", sessions=updated)
    expect("sessions with recent state", updated, ["st"])
done()
