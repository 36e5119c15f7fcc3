"""A message sent to a topic reaches every subscription."""
from azure.servicebus import ServiceBusMessage

from common import client, done, emit, env, expect, receive_n

topic = env("SB_TOPIC")
subscriptions = env("SB_SUBSCRIPTIONS").split(",")
with client() as sb:
    with sb.get_topic_sender(topic) as sender:
        sender.send_messages([ServiceBusMessage("news-1"), ServiceBusMessage("news-2")])
    for subscription in subscriptions:
        with sb.get_subscription_receiver(topic, subscription, max_wait_time=10) as receiver:
            messages = receive_n(receiver, 2)
            bodies = [str(m) for m in messages]
            emit("received", subscription=subscription, bodies=bodies)
            expect("bodies on " + subscription, bodies, ["news-1", "news-2"])
            for message in messages:
                receiver.complete_message(message)
done()
