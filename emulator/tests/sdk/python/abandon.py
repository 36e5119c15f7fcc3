"""Abandon puts the message back with delivery count + 1."""
from azure.servicebus import ServiceBusMessage

from common import client, describe, done, emit, env, expect, receive_n

queue = env("SB_QUEUE")
with client() as sb:
    with sb.get_queue_sender(queue) as sender:
        sender.send_messages(ServiceBusMessage("retry-me", session_id="s", message_id="m1"))
    with sb.get_queue_receiver(queue, session_id="s", max_wait_time=10) as receiver:
        [first] = receive_n(receiver, 1)
        emit("received", **describe(first))
        expect("first delivery count", first.delivery_count, 0)
        receiver.abandon_message(first)
        emit("abandoned")
        [second] = receive_n(receiver, 1)
        emit("received", **describe(second))
        expect("same message", second.message_id, "m1")
        expect("delivery count after abandon", second.delivery_count, 1)
        expect("same sequence number", second.sequence_number, first.sequence_number)
        receiver.complete_message(second)
        emit("completed")
done()
