"""A session lock that is not renewed expires: the broker detaches the receive link with
session-lock-lost, and the unsettled message comes back with delivery count + 1 (run against a
session queue with a short lock duration)."""
from azure.servicebus import ServiceBusMessage
from azure.servicebus.exceptions import SessionLockLostError

from common import client, describe, done, emit, env, expect, fail, receive_n

queue = env("SB_QUEUE")
with client(retry_total=0) as sb:
    with sb.get_queue_sender(queue) as sender:
        sender.send_messages(ServiceBusMessage("held", session_id="exp", message_id="m1"))
    with sb.get_queue_receiver(queue, session_id="exp", max_wait_time=10) as receiver:
        [first] = receive_n(receiver, 1)
        emit("received", **describe(first))
        try:
            for _ in range(5):  # keep the link busy until the broker detaches it
                receiver.receive_messages(max_wait_time=2)
            fail("the session lock never expired")
        except SessionLockLostError as error:
            emit("lock_lost", type=type(error).__name__)
    with sb.get_queue_receiver(queue, session_id="exp", max_wait_time=10) as receiver:
        [again] = receive_n(receiver, 1)
        emit("received", **describe(again))
        expect("same message", again.message_id, "m1")
        expect("delivery count after session lock expiry", again.delivery_count, 1)
        receiver.complete_message(again)
done()
