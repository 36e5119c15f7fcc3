"""Dead-letter with reason and description, then read it from the dead-letter queue."""
from azure.servicebus import ServiceBusMessage, ServiceBusSubQueue

from common import client, describe, done, emit, env, expect, receive_n

queue = env("SB_QUEUE")
with client() as sb:
    with sb.get_queue_sender(queue) as sender:
        sender.send_messages(ServiceBusMessage("poison", session_id="x", message_id="m1"))
    with sb.get_queue_receiver(queue, session_id="x", max_wait_time=10) as receiver:
        [message] = receive_n(receiver, 1)
        receiver.dead_letter_message(message, reason="bad-input", error_description="could not parse")
        emit("dead_lettered")
        expect("session is empty", receiver.receive_messages(max_wait_time=1), [])
    with sb.get_queue_receiver(queue, sub_queue=ServiceBusSubQueue.DEAD_LETTER, max_wait_time=10) as dlq:
        [dead] = receive_n(dlq, 1)
        emit("received_dead_letter", reason=dead.dead_letter_reason,
             description=dead.dead_letter_error_description, **describe(dead))
        expect("body", str(dead), "poison")
        expect("reason", dead.dead_letter_reason, "bad-input")
        expect("description", dead.dead_letter_error_description, "could not parse")
        dlq.complete_message(dead)
        emit("completed")
done()
