"""Receive-and-delete removes messages on delivery."""
from azure.servicebus import ServiceBusMessage, ServiceBusReceiveMode

from common import client, done, emit, env, expect, receive_n

queue = env("SB_QUEUE")
with client() as sb:
    with sb.get_queue_sender(queue) as sender:
        sender.send_messages([ServiceBusMessage("gone-1"), ServiceBusMessage("gone-2")])
    with sb.get_queue_receiver(queue, receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE, max_wait_time=10) as receiver:
        messages = receive_n(receiver, 2)
        emit("received", bodies=[str(m) for m in messages])
        expect("bodies", [str(m) for m in messages], ["gone-1", "gone-2"])
    with sb.get_queue_receiver(queue) as peeker:
        left = peeker.peek_messages(max_message_count=10)
        emit("peeked", count=len(left))
        expect("nothing left", left, [])
done()
