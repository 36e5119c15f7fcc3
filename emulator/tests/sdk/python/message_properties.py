"""Every property the SDK reads from a peeked, received and dead-lettered message, as Azure sets
it. The queue's default time to live is 30 minutes: it caps a longer message TTL and stands in
for a missing one, and the received message reports the TTL its expiry was computed with."""
from datetime import datetime, timedelta, timezone

from azure.servicebus import ServiceBusMessage, ServiceBusMessageState, ServiceBusSubQueue

from common import client, done, emit, env, expect, receive_n

queue = env("SB_QUEUE")
DEFAULT_TTL = timedelta(minutes=30)


def props(m):
    return {
        "body": str(m),
        "sequence_number": m.sequence_number,
        "enqueued_sequence_number": m.enqueued_sequence_number,
        "state": m.state.name,
        "delivery_count": m.delivery_count,
        "time_to_live_ms": m.time_to_live and int(m.time_to_live.total_seconds() * 1000),
        "expires_after_enqueue_ms": m.expires_at_utc
        and int((m.expires_at_utc - m.enqueued_time_utc).total_seconds() * 1000),
        "locked": m.locked_until_utc is not None,
        "to": m.to,
        "reply_to": m.reply_to,
        "partition_key": m.partition_key,
        "subject": m.subject,
        "correlation_id": m.correlation_id,
        "dead_letter_reason": m.dead_letter_reason,
        "dead_letter_error_description": m.dead_letter_error_description,
        "dead_letter_source": m.dead_letter_source,
    }


with client() as sb:
    started = datetime.now(timezone.utc) - timedelta(seconds=5)
    with sb.get_queue_sender(queue) as sender:
        sender.send_messages([
            ServiceBusMessage(
                "long",
                time_to_live=timedelta(hours=2),
                to="someone",
                reply_to="back",
                partition_key="pk",
                subject="greeting",
                correlation_id="c-1",
            ),
            ServiceBusMessage("short", time_to_live=timedelta(minutes=5)),
            ServiceBusMessage("none"),
        ])
    with sb.get_queue_receiver(queue, max_wait_time=10) as receiver:
        peeked = receiver.peek_messages(max_message_count=10)
        for m in peeked:
            emit("peeked", **props(m))
        expect("peeked messages hold no lock", [p["locked"] for p in map(props, peeked)], [False] * 3)
        received = receive_n(receiver, 3)
        for m in received:
            emit("received", **props(m))
            expect("state of " + str(m), m.state, ServiceBusMessageState.ACTIVE)
            expect("first delivery of " + str(m), m.delivery_count, 0)
            expect("enqueued time of " + str(m), m.enqueued_time_utc >= started, True)
            expect("locked until of " + str(m), m.locked_until_utc > datetime.now(timezone.utc), True)
        by_body = {str(m): m for m in received}
        expect("a longer TTL is capped by the entity's", by_body["long"].time_to_live, DEFAULT_TTL)
        expect("a shorter TTL is kept", by_body["short"].time_to_live, timedelta(minutes=5))
        expect("no TTL: the entity's", by_body["none"].time_to_live, DEFAULT_TTL)
        long = by_body["long"]
        expect(
            "properties kept",
            [long.to, long.reply_to, long.partition_key, long.subject, long.correlation_id],
            ["someone", "back", "pk", "greeting", "c-1"],
        )
        receiver.dead_letter_message(long, reason="bad", error_description="it was bad")
        for m in received[1:]:
            receiver.complete_message(m)
    with sb.get_queue_receiver(queue, sub_queue=ServiceBusSubQueue.DEAD_LETTER, max_wait_time=10) as dlq:
        [dead] = receive_n(dlq, 1)
        emit("dead_lettered", **props(dead))
        expect("dead-letter reason", dead.dead_letter_reason, "bad")
        expect("dead-letter description", dead.dead_letter_error_description, "it was bad")
        expect("no dead-letter source without forwarding", dead.dead_letter_source, None)
        expect("dead-letter keeps the sequence number", dead.sequence_number, long.sequence_number)
        expect("dead-lettered state", dead.state, ServiceBusMessageState.ACTIVE)
        dlq.complete_message(dead)
done()
