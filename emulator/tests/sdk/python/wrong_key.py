"""A connection string with the wrong SAS key is refused."""
import re

from azure.servicebus import ServiceBusMessage
from azure.servicebus.exceptions import ServiceBusAuthenticationError, ServiceBusAuthorizationError

from common import client, done, emit, env, error_info, fail

queue = env("SB_QUEUE")
wrong = re.sub(r"SharedAccessKey=[^;]*", "SharedAccessKey=not-the-key", env("SB_CONNECTION_STRING"))
with client(wrong, retry_total=0) as sb:
    try:
        with sb.get_queue_sender(queue) as sender:
            sender.send_messages(ServiceBusMessage("intruder", session_id="s"))
        fail("a wrong key was accepted")
    except (ServiceBusAuthenticationError, ServiceBusAuthorizationError) as error:
        emit("refused", **error_info(error))
done()
