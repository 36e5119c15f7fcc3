"""A Listen-only SAS rule receives but cannot send: Azure's "'Send' claim(s) are required"."""
from azure.servicebus import ServiceBusMessage
from azure.servicebus.exceptions import ServiceBusAuthenticationError, ServiceBusAuthorizationError

from common import client, done, emit, env, expect, fail, error_info, receive_n

queue = env("SB_QUEUE")
listen = env("SB_LISTEN_CONNECTION_STRING")
with client(listen, retry_total=0) as sb:
    try:
        with sb.get_queue_sender(queue) as sender:
            sender.send_messages(ServiceBusMessage("not allowed"))
        fail("a Listen-only rule could send")
    except (ServiceBusAuthenticationError, ServiceBusAuthorizationError) as error:
        emit("refused", **error_info(error))
with client() as sb:
    with sb.get_queue_sender(queue) as sender:
        sender.send_messages(ServiceBusMessage("allowed"))
with client(listen) as sb:
    with sb.get_queue_receiver(queue, max_wait_time=10) as receiver:
        received = receive_n(receiver, 1)
        expect("received with Listen", [str(m) for m in received], ["allowed"])
        receiver.complete_message(received[0])
        emit("received", bodies=[str(m) for m in received])
done()
