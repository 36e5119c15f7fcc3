"""Sends SESSIONS x PER_SESSION messages to SB_QUEUE with the official azure-servicebus SDK,
interleaved (message n of every session, then n + 1, ...). Each message: session id `s<k>`,
message id `s<k>-<n>`, body the same text, application property `n`.

Batches: one ServiceBusMessageBatch per round n (split if it does not fit); with FILL=1, every
batch is filled up to the SDK's own size limit instead. Prints one JSON line at the end:
{"event": "sent", "count": ..., "batches": ...}."""
import json
import os

from azure.servicebus import ServiceBusClient, ServiceBusMessage

sessions = int(os.environ["SESSIONS"])
per_session = int(os.environ["PER_SESSION"])
queue = os.environ["SB_QUEUE"]
fill = os.environ.get("FILL") == "1"

sent = 0
batches = 0
with ServiceBusClient.from_connection_string(os.environ["SB_CONNECTION_STRING"]) as client:
    with client.get_queue_sender(queue) as sender:

        def flush(batch):
            global sent, batches
            if len(batch) > 0:
                sender.send_messages(batch)
                sent += len(batch)
                batches += 1
            return sender.create_message_batch()

        batch = sender.create_message_batch()
        for n in range(per_session):
            for k in range(sessions):
                session = f"s{k}"
                message = ServiceBusMessage(
                    f"{session}-{n}",
                    session_id=session,
                    message_id=f"{session}-{n}",
                    application_properties={"n": n},
                )
                try:
                    batch.add_message(message)
                except ValueError:  # the batch is full
                    batch = flush(batch)
                    batch.add_message(message)
            if not fill:
                batch = flush(batch)
        flush(batch)
print(json.dumps({"event": "sent", "count": sent, "batches": batches}), flush=True)
