"""Sessions on a session-enabled subscription: accept by id and next-available, session state,
peek, defer and receive deferred, renew the session lock."""
from azure.servicebus import NEXT_AVAILABLE_SESSION, ServiceBusMessage, ServiceBusMessageState

from common import client, done, emit, env, expect, receive_n

topic = env("SB_TOPIC")
[subscription] = env("SB_SUBSCRIPTIONS").split(",")
with client() as sb:
    with sb.get_topic_sender(topic) as sender:
        sender.send_messages([ServiceBusMessage(f"{s}{i}", session_id=s) for s in ("x", "y") for i in range(2)])
    with sb.get_subscription_receiver(topic, subscription, session_id="y", max_wait_time=10) as receiver:
        session = receiver.session
        session.set_state(b"half")
        expect("session state", session.get_state(), b"half")
        peeked = receiver.peek_messages(max_message_count=10)
        emit("peeked", bodies=[str(m) for m in peeked], sessions=[m.session_id for m in peeked])
        expect("peek shows the session's messages", [str(m) for m in peeked], ["y0", "y1"])
        messages = receive_n(receiver, 2)
        emit(
            "received",
            session_id=session.session_id,
            bodies=[str(m) for m in messages],
            sessions=[m.session_id for m in messages],
        )
        expect("received bodies", [str(m) for m in messages], ["y0", "y1"])
        first, second = messages
        receiver.defer_message(first)
        [deferred] = receiver.receive_deferred_messages([first.sequence_number])
        emit("received_deferred", body=str(deferred), state=deferred.state.name, session_id=deferred.session_id)
        expect("deferred state", deferred.state, ServiceBusMessageState.DEFERRED)
        before = session.locked_until_utc
        session.renew_lock()
        expect("renewing moves the session lock", session.locked_until_utc >= before, True)
        receiver.complete_message(deferred)
        receiver.complete_message(second)
    with sb.get_subscription_receiver(
        topic, subscription, session_id=NEXT_AVAILABLE_SESSION, max_wait_time=10
    ) as receiver:
        messages = receive_n(receiver, 2)
        emit("next_session", session_id=receiver.session.session_id, bodies=[str(m) for m in messages])
        expect("next available session", receiver.session.session_id, "x")
        for m in messages:
            receiver.complete_message(m)
done()
