"""Disabled, SendDisabled and ReceiveDisabled entities refuse what they disable with
MessagingEntityDisabledError (condition com.microsoft:entity-disabled)."""
from azure.servicebus import ServiceBusMessage
from azure.servicebus.exceptions import ServiceBusError

from common import client, done, emit, env, error_info, fail, receive_n

disabled = env("SB_DISABLED")
send_disabled = env("SB_SEND_DISABLED")
receive_disabled = env("SB_RECEIVE_DISABLED")


def refused(what, action):
    try:
        action()
    except ServiceBusError as error:
        emit("refused", what=what, **error_info(error))
        return
    fail(what + " was allowed")


with client(retry_total=0) as sb:
    with sb.get_queue_sender(disabled) as sender:
        refused("send to Disabled", lambda: sender.send_messages(ServiceBusMessage("x")))
    with sb.get_queue_sender(send_disabled) as sender:
        refused("send to SendDisabled", lambda: sender.send_messages(ServiceBusMessage("x")))
    with sb.get_queue_receiver(send_disabled, max_wait_time=2) as receiver:
        emit("received_from_send_disabled", count=len(receiver.receive_messages(max_wait_time=2)))
    with sb.get_queue_sender(receive_disabled) as sender:
        sender.send_messages(ServiceBusMessage("kept"))
        emit("sent_to_receive_disabled")
    with sb.get_queue_receiver(receive_disabled, max_wait_time=5) as receiver:
        refused("receive from ReceiveDisabled", lambda: receive_n(receiver, 1, timeout=5))
done()
