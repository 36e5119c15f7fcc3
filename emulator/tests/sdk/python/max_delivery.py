"""After max-delivery-count abandons the message moves to the dead-letter queue with reason
MaxDeliveryCountExceeded (run against a queue with max_delivery_count = 2)."""
from azure.servicebus import ServiceBusMessage, ServiceBusSubQueue

from common import client, describe, done, emit, env, expect, receive_n

queue = env("SB_QUEUE")
with client() as sb:
    with sb.get_queue_sender(queue) as sender:
        sender.send_messages(ServiceBusMessage("hopeless", message_id="m1"))
    with sb.get_queue_receiver(queue, max_wait_time=10) as receiver:
        for attempt in range(2):
            [message] = receive_n(receiver, 1)
            emit("received", **describe(message))
            expect("delivery count", message.delivery_count, attempt)
            receiver.abandon_message(message)
        expect("queue is empty after max deliveries", receiver.receive_messages(max_wait_time=1), [])
    with sb.get_queue_receiver(queue, sub_queue=ServiceBusSubQueue.DEAD_LETTER, max_wait_time=10) as dlq:
        [dead] = receive_n(dlq, 1)
        emit("received_dead_letter", reason=dead.dead_letter_reason,
             description=dead.dead_letter_error_description, **describe(dead))
        expect("body", str(dead), "hopeless")
        expect("reason", dead.dead_letter_reason, "MaxDeliveryCountExceeded")
        dlq.complete_message(dead)
done()
