"""Closing a session receiver with an unsettled message releases the session without counting
the delivery: the next receiver gets the message with the same delivery count."""
from azure.servicebus import ServiceBusMessage

from common import client, describe, done, emit, env, expect, receive_n

queue = env("SB_QUEUE")
with client() as sb:
    with sb.get_queue_sender(queue) as sender:
        sender.send_messages(ServiceBusMessage("unfinished", session_id="rel", message_id="m1"))
    with sb.get_queue_receiver(queue, session_id="rel", max_wait_time=10) as receiver:
        [first] = receive_n(receiver, 1)
        emit("received", **describe(first))
    emit("closed")
    with sb.get_queue_receiver(queue, session_id="rel", max_wait_time=10) as receiver:
        [again] = receive_n(receiver, 1)
        emit("received", **describe(again))
        expect("same message", again.message_id, "m1")
        expect("delivery count after closing", again.delivery_count, first.delivery_count)
        receiver.complete_message(again)
done()
