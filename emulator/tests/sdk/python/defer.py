"""Defer a message, then receive it by sequence number and complete it."""
from azure.servicebus import ServiceBusMessage, ServiceBusMessageState

from common import client, describe, done, emit, env, expect, receive_n

queue = env("SB_QUEUE")
with client() as sb:
    with sb.get_queue_sender(queue) as sender:
        sender.send_messages(ServiceBusMessage("later", session_id="d", message_id="m1"))
    with sb.get_queue_receiver(queue, session_id="d", max_wait_time=10) as receiver:
        [message] = receive_n(receiver, 1)
        sequence_number = message.sequence_number
        receiver.defer_message(message)
        emit("deferred", sequence_number=sequence_number)
        expect("deferred message is not received again", receiver.receive_messages(max_wait_time=1), [])
        [deferred] = receiver.receive_deferred_messages([sequence_number])
        emit("received_deferred", state=deferred.state.name, **describe(deferred))
        expect("deferred body", str(deferred), "later")
        expect("deferred sequence number", deferred.sequence_number, sequence_number)
        expect("deferred state", deferred.state, ServiceBusMessageState.DEFERRED)
        receiver.complete_message(deferred)
        emit("completed")
        expect("queue is empty", receiver.peek_messages(max_message_count=10), [])
done()
