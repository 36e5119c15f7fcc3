"""An unsettled message whose lock expires is redelivered with delivery count + 1
(run against a queue with a short lock duration)."""
from azure.servicebus import ServiceBusMessage
from azure.servicebus.exceptions import MessageLockLostError

from common import client, describe, done, emit, env, expect, fail, receive_n

queue = env("SB_QUEUE")
with client() as sb:
    with sb.get_queue_sender(queue) as sender:
        sender.send_messages(ServiceBusMessage("slow", message_id="m1"))
    with sb.get_queue_receiver(queue, max_wait_time=20) as receiver:
        [first] = receive_n(receiver, 1)
        emit("received", locked_until=first.locked_until_utc.isoformat(), **describe(first))
        expect("first delivery count", first.delivery_count, 0)
        [second] = receive_n(receiver, 1, timeout=30)
        emit("redelivered", **describe(second))
        expect("same message", second.message_id, "m1")
        expect("delivery count after lock expiry", second.delivery_count, 1)
        if second.lock_token == first.lock_token:
            fail("redelivery reused the expired lock token", lock_token=str(first.lock_token))
        try:
            receiver.complete_message(first)
            fail("completing with an expired lock succeeded")
        except MessageLockLostError as error:
            emit("stale_lock_refused", type=type(error).__name__)
        receiver.complete_message(second)
        emit("completed")
done()
