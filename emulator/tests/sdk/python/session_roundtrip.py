"""Send with session ids; accept a session by id and the next available one; in-order receive;
complete; then next-available with nothing left times out."""
from azure.servicebus import NEXT_AVAILABLE_SESSION, ServiceBusMessage
from azure.servicebus.exceptions import OperationTimeoutError, SessionCannotBeLockedError

from common import client, describe, done, emit, env, expect, fail, receive_n

queue = env("SB_QUEUE")
with client() as sb:
    with sb.get_queue_sender(queue) as sender:
        for body, session in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"), ("a3", "a")]:
            sender.send_messages(ServiceBusMessage(body, session_id=session, message_id=body))
    emit("sent", count=5)

    for requested, expected in [("a", ["a1", "a2", "a3"]), (NEXT_AVAILABLE_SESSION, ["b1", "b2"])]:
        with sb.get_queue_receiver(queue, session_id=requested, max_wait_time=10) as receiver:
            session_id = receiver.session.session_id
            messages = receive_n(receiver, len(expected))
            bodies = [str(m) for m in messages]
            emit("received", session_id=session_id, bodies=bodies,
                 sequence_numbers=[m.sequence_number for m in messages],
                 delivery_counts=[m.delivery_count for m in messages])
            expect("bodies of session " + session_id, bodies, expected)
            expect("session ids", {m.session_id for m in messages}, {session_id})
            sequence_numbers = [m.sequence_number for m in messages]
            expect("sequence numbers ascend", sequence_numbers, sorted(sequence_numbers))
            for message in messages:
                receiver.complete_message(message)
            emit("completed", session_id=session_id, count=len(messages))
            expect("nothing left in session", receiver.receive_messages(max_wait_time=1), [])

    # pyamqp reports the broker's attach + detach(com.microsoft:timeout) on first use, not at open.
    try:
        with sb.get_queue_receiver(queue, session_id=NEXT_AVAILABLE_SESSION, max_wait_time=2) as receiver:
            receiver.receive_messages(max_wait_time=2)
            fail("next-available session with no messages was accepted")
    except (OperationTimeoutError, SessionCannotBeLockedError) as error:
        emit("no_session_left", type=type(error).__name__)
done()
