"""Schedule two messages, cancel one: only the other arrives, at its time, under a new sequence
number (Azure: the number `schedule` returns is valid only while the message is scheduled)."""
from datetime import datetime, timedelta, timezone

from azure.servicebus import ServiceBusMessage, ServiceBusMessageState

from common import client, done, emit, env, expect, fail, receive_n

queue = env("SB_QUEUE")
with client() as sb:
    now = datetime.now(timezone.utc)
    with sb.get_queue_sender(queue) as sender:
        [cancelled] = sender.schedule_messages(ServiceBusMessage("never"), now + timedelta(hours=1))
        [kept] = sender.schedule_messages(ServiceBusMessage("soon"), now + timedelta(seconds=2))
        emit("scheduled", sequence_numbers=[cancelled, kept])
        with sb.get_queue_receiver(queue) as peeker:
            peeked = peeker.peek_messages(max_message_count=10)
            emit("peeked", states=[m.state.name for m in peeked], bodies=[str(m) for m in peeked])
            expect("scheduled messages are peekable", sorted(str(m) for m in peeked), ["never", "soon"])
            expect("peeked state", {m.state for m in peeked}, {ServiceBusMessageState.SCHEDULED})
        sender.cancel_scheduled_messages(cancelled)
        emit("cancelled", sequence_number=cancelled)
    with sb.get_queue_receiver(queue, max_wait_time=15) as receiver:
        [message] = receive_n(receiver, 1)
        emit(
            "received",
            body=str(message),
            sequence_number=message.sequence_number,
            state=message.state.name,
            enqueued_time=message.enqueued_time_utc.isoformat(),
            scheduled_enqueue_time=message.scheduled_enqueue_time_utc.isoformat(),
        )
        expect("scheduled body", str(message), "soon")
        expect("a new sequence number once active", message.sequence_number > max(cancelled, kept), True)
        expect("active once received", message.state, ServiceBusMessageState.ACTIVE)
        expect(
            "enqueued when it turned active",
            message.enqueued_time_utc >= message.scheduled_enqueue_time_utc,
            True,
        )
        arrived = datetime.now(timezone.utc)
        if arrived < now + timedelta(seconds=2) - timedelta(milliseconds=100):
            fail("scheduled message arrived before its time", arrived=arrived.isoformat())
        receiver.complete_message(message)
        expect("cancelled message never arrives", receiver.receive_messages(max_wait_time=2), [])
done()
