"""Accepting a session another receiver holds fails with SB's text."""
from azure.servicebus import ServiceBusMessage
from azure.servicebus.exceptions import SessionCannotBeLockedError

from common import client, done, emit, env, error_info, expect, fail

queue = env("SB_QUEUE")
with client(retry_total=0) as sb:
    with sb.get_queue_sender(queue) as sender:
        sender.send_messages(ServiceBusMessage("held", session_id="L"))
    with sb.get_queue_receiver(queue, session_id="L", max_wait_time=5) as holder:
        emit("holder_accepted", session_id=holder.session.session_id)
        try:
            with sb.get_queue_receiver(queue, session_id="L", max_wait_time=5) as second:
                second.receive_messages(max_wait_time=1)
                fail("a locked session was accepted twice")
        except SessionCannotBeLockedError as error:
            emit("refused", **error_info(error))
            if "cannot be accepted. It may be locked by another receiver" not in str(error):
                fail("refusal text", actual=str(error))
done()
