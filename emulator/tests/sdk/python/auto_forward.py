"""Auto-forwarding: a message moves on with its properties; a dead letter moves on with its
reason and dead-letter source; a message the destination refuses lands in the transfer
dead-letter queue."""
from azure.servicebus import ServiceBusMessage, ServiceBusSubQueue

from common import client, done, emit, env, expect, receive_n


def text(value):
    return value.decode() if isinstance(value, bytes) else value


source = env("SB_QUEUE")  # forwards to SB_DESTINATION, dead letters to SB_GRAVEYARD
destination = env("SB_DESTINATION")
graveyard = env("SB_GRAVEYARD")
to_sessions = env("SB_TO_SESSIONS")  # forwards to a session queue
with client() as sb:
    with sb.get_queue_sender(source) as sender:
        sender.send_messages(ServiceBusMessage("order", message_id="o-1", subject="orders",
                                               application_properties={"kind": "new"}))
    with sb.get_queue_receiver(destination, max_wait_time=10) as receiver:
        [moved] = receive_n(receiver, 1)
        props = {text(k): text(v) for k, v in (moved.application_properties or {}).items()}
        emit("forwarded", body=str(moved), message_id=moved.message_id, subject=moved.subject,
             properties=props, sequence_number=moved.sequence_number)
        expect("body", str(moved), "order")
        expect("message id", moved.message_id, "o-1")
        expect("subject", moved.subject, "orders")
        expect("properties", props, {"kind": "new"})
        receiver.dead_letter_message(moved, reason="bad-order", error_description="no customer")
    with sb.get_queue_receiver(graveyard, max_wait_time=10) as receiver:
        [dead] = receive_n(receiver, 1)
        emit("dead_letter_forwarded", reason=dead.dead_letter_reason,
             description=dead.dead_letter_error_description, source=dead.dead_letter_source)
        expect("reason", dead.dead_letter_reason, "bad-order")
        expect("description", dead.dead_letter_error_description, "no customer")
        expect("source", dead.dead_letter_source, destination)
        receiver.complete_message(dead)
    with sb.get_queue_sender(to_sessions) as sender:
        sender.send_messages(ServiceBusMessage("no session"))
    with sb.get_queue_receiver(to_sessions, sub_queue=ServiceBusSubQueue.TRANSFER_DEAD_LETTER,
                               max_wait_time=10) as receiver:
        [stuck] = receive_n(receiver, 1)
        emit("transfer_dead_letter", body=str(stuck), reason=stuck.dead_letter_reason)
        expect("stuck body", str(stuck), "no session")
        receiver.complete_message(stuck)
done()
