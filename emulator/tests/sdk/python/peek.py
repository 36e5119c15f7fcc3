"""Peek shows messages without locking them or counting a delivery."""
from azure.servicebus import ServiceBusMessage

from common import client, done, emit, env, expect, receive_n

queue = env("SB_QUEUE")
with client() as sb:
    with sb.get_queue_sender(queue) as sender:
        sender.send_messages([ServiceBusMessage(f"p{i}", session_id="peek") for i in range(3)])
    with sb.get_queue_receiver(queue, session_id="peek", max_wait_time=10) as receiver:
        peeked = receiver.peek_messages(max_message_count=10)
        emit("peeked", bodies=[str(m) for m in peeked], sequence_numbers=[m.sequence_number for m in peeked])
        expect("peeked bodies", [str(m) for m in peeked], ["p0", "p1", "p2"])
        sequence_numbers = [m.sequence_number for m in peeked]
        expect("peeked sequence numbers ascend", sequence_numbers, sorted(set(sequence_numbers)))
        received = receive_n(receiver, 3)
        emit("received", bodies=[str(m) for m in received], delivery_counts=[m.delivery_count for m in received])
        expect("received bodies", [str(m) for m in received], ["p0", "p1", "p2"])
        expect("peek did not count deliveries", [m.delivery_count for m in received], [0, 0, 0])
        for message in received:
            receiver.complete_message(message)
        expect("peek after complete", receiver.peek_messages(max_message_count=10), [])
        emit("completed")
done()
