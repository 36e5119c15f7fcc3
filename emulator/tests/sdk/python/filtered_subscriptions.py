"""Subscriptions with rules from the entities TOML get only the messages their rules admit.

Sends four messages to SB_TOPIC, then peeks each of SB_SUBSCRIPTIONS and reports the bodies
(and the RuleName property of copies made by rule actions); the Rust test checks them.
"""
from azure.servicebus import ServiceBusMessage

from common import client, done, emit, env

MESSAGES = [
    ServiceBusMessage("m1", subject="created", application_properties={"color": "red", "region": "eu"}),
    ServiceBusMessage("m2", subject="deleted", application_properties={"color": "blue"}),
    ServiceBusMessage(
        "m3", subject="created", correlation_id="c-1", application_properties={"color": "blue", "region": "us"}
    ),
    ServiceBusMessage("m4", application_properties={"color": "red"}),
]


def rule_name(message):
    properties = message.application_properties or {}
    name = properties.get(b"RuleName", properties.get("RuleName"))
    return name.decode() if isinstance(name, bytes) else name


topic = env("SB_TOPIC")
with client() as sb:
    with sb.get_topic_sender(topic) as sender:
        sender.send_messages(MESSAGES)
    for subscription in env("SB_SUBSCRIPTIONS").split(","):
        with sb.get_subscription_receiver(topic, subscription) as receiver:
            peeked = receiver.peek_messages(max_message_count=20)
            emit(
                "peeked",
                subscription=subscription,
                bodies=[str(m) for m in peeked],
                rule_names=[rule_name(m) for m in peeked],
            )
done()
