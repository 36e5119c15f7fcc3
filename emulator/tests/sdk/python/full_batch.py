"""A batch filled up to the SDK's own size limit (taken from the broker's max-message-size) is
accepted whole, and every message in it arrives."""
from azure.servicebus import ServiceBusMessage, ServiceBusReceiveMode

from common import client, done, emit, env, expect, receive_n

queue = env("SB_QUEUE")
with client() as sb:
    with sb.get_queue_sender(queue) as sender:
        batch = sender.create_message_batch()
        count = 0
        try:
            while True:
                batch.add_message(ServiceBusMessage(f"m{count}" + "x" * 200, application_properties={"n": count}))
                count += 1
        except ValueError:  # full
            pass
        emit("batch", count=count, size=batch.size_in_bytes, max=batch.max_size_in_bytes)
        sender.send_messages(batch)
    with sb.get_queue_receiver(queue, receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE, max_wait_time=10) as receiver:
        received = receive_n(receiver, count, timeout=60)
        emit("received", count=len(received))
        expect("every message arrives in order", [str(m)[: len(f"m{i}")] for i, m in enumerate(received)], [f"m{i}" for i in range(count)])
done()
