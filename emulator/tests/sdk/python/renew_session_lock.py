"""Renewing the session lock returns a new, later locked-until."""
from datetime import datetime, timezone

from common import client, done, emit, env, expect, fail

queue = env("SB_QUEUE")
with client() as sb:
    with sb.get_queue_receiver(queue, session_id="renew", max_wait_time=5) as receiver:
        before = receiver.session.locked_until_utc
        renewed = receiver.session.renew_lock()
        emit("renewed", before=before.isoformat(), after=renewed.isoformat())
        if renewed <= datetime.now(timezone.utc):
            fail("renewed lock is already expired", after=renewed.isoformat())
        if renewed < before:
            fail("renewed lock is earlier than before", before=before.isoformat(), after=renewed.isoformat())
        expect("session locked_until follows renew", receiver.session.locked_until_utc, renewed)
done()
