"""A message without session id is refused by a session-enabled queue with SB's text."""
from azure.servicebus import ServiceBusMessage
from azure.servicebus.exceptions import ServiceBusError

from common import client, done, emit, env, error_info, fail

TEXT = ("The SessionId was not set on a message, and it cannot be sent to the entity. "
        "Entities that have session support enabled can only receive messages that have the "
        "SessionId set to a valid value.")

queue = env("SB_QUEUE")
with client(retry_total=0) as sb:
    with sb.get_queue_sender(queue) as sender:
        try:
            sender.send_messages(ServiceBusMessage("orphan"))
            fail("a message without session id was accepted")
        except ServiceBusError as error:
            emit("refused", **error_info(error))
            if TEXT not in str(error):
                fail("refusal text", expected=TEXT, actual=str(error))
        sender.send_messages(ServiceBusMessage("fine", session_id="s"))
        emit("sent_with_session_id")
done()
