"""A repeated message id is accepted and dropped by a queue and a topic that detect duplicates."""
from azure.servicebus import ServiceBusMessage

from common import client, done, emit, env, expect, receive_n

queue = env("SB_QUEUE")
topic = env("SB_TOPIC")
[subscription] = env("SB_SUBSCRIPTIONS").split(",")
with client() as sb:
    with sb.get_queue_sender(queue) as sender:
        sender.send_messages(ServiceBusMessage("first", message_id="order-1"))
        sender.send_messages(ServiceBusMessage("repeat", message_id="order-1"))
        sender.send_messages([ServiceBusMessage("second", message_id="order-2"),
                              ServiceBusMessage("repeat in batch", message_id="order-2")])
        emit("sent", count=4)
    with sb.get_queue_receiver(queue, max_wait_time=10) as receiver:
        messages = receive_n(receiver, 2)
        messages += receiver.receive_messages(max_message_count=10, max_wait_time=2)
        bodies = [str(m) for m in messages]
        emit("received", bodies=bodies)
        expect("queue bodies", bodies, ["first", "second"])
        for m in messages:
            receiver.complete_message(m)
    with sb.get_topic_sender(topic) as sender:
        sender.send_messages(ServiceBusMessage("news", message_id="n-1"))
        sender.send_messages(ServiceBusMessage("news again", message_id="n-1"))
    with sb.get_subscription_receiver(topic, subscription, max_wait_time=10) as receiver:
        messages = receive_n(receiver, 1)
        messages += receiver.receive_messages(max_message_count=10, max_wait_time=2)
        bodies = [str(m) for m in messages]
        emit("received_from_topic", bodies=bodies)
        expect("subscription bodies", bodies, ["news"])
        for m in messages:
            receiver.complete_message(m)
done()
