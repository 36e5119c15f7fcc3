"""Shared helpers for the azure-servicebus scenario scripts run by emulator/tests/sdk_python.rs.

Every script reads the connection string from SB_CONNECTION_STRING and entity names from
SB_QUEUE / SB_TOPIC / SB_SUBSCRIPTIONS, prints one JSON object per line ({"event": ...}) and
exits non-zero on the first mismatch ("mismatch" event) or unexpected exception.
"""
import json
import logging
import os
import sys
import time

from azure.servicebus import ServiceBusClient


def env(name):
    value = os.environ.get(name)
    if not value:
        fail("missing environment variable", name=name)
    return value


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}, default=str), flush=True)


def fail(what, **fields):
    emit("mismatch", what=what, **fields)
    sys.exit(1)


def expect(what, actual, expected):
    if actual != expected:
        fail(what, expected=expected, actual=actual)


TRACE = bool(os.environ.get("SB_TRACE"))
if TRACE:  # SB_TRACE=1 prints the SDK's AMQP frames to stderr
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)


def client(connection_string=None, **kwargs):
    kwargs.setdefault("logging_enable", TRACE)
    return ServiceBusClient.from_connection_string(
        connection_string or env("SB_CONNECTION_STRING"), **kwargs
    )


def receive_n(receiver, count, timeout=20.0):
    """Receives until `count` messages arrived or `timeout` seconds passed."""
    messages = []
    deadline = time.monotonic() + timeout
    while len(messages) < count and time.monotonic() < deadline:
        remaining = max(1.0, deadline - time.monotonic())
        messages += receiver.receive_messages(
            max_message_count=count - len(messages), max_wait_time=remaining
        )
    return messages


def describe(message):
    return {
        "body": str(message),
        "session_id": message.session_id,
        "message_id": message.message_id,
        "sequence_number": message.sequence_number,
        "delivery_count": message.delivery_count,
    }


def error_info(error):
    return {"type": type(error).__name__, "message": str(error)}


def done():
    emit("done")
