// Sessions on a session-enabled subscription: accept by id and next-available, session state,
// peek, defer and receive deferred, renew the session lock.
import { client, emit, env, expect, main, receiveN } from "./common.mjs";

await main(async () => {
  const topic = env("SB_TOPIC");
  const [subscription] = env("SB_SUBSCRIPTIONS").split(",");
  const sb = client();
  try {
    const messages = ["x", "y"].flatMap((s) => [0, 1].map((i) => ({ body: `${s}${i}`, sessionId: s })));
    await sb.createSender(topic).sendMessages(messages);
    const receiver = await sb.acceptSession(topic, subscription, "y");
    await receiver.setSessionState(Buffer.from("half"));
    expect("session state", Buffer.from(await receiver.getSessionState()).toString(), "half");
    const peeked = await receiver.peekMessages(10);
    emit("peeked", { bodies: peeked.map((m) => m.body), sessions: peeked.map((m) => m.sessionId) });
    expect("peek shows the session's messages", peeked.map((m) => m.body), ["y0", "y1"]);
    const got = await receiveN(receiver, 2);
    emit("received", { session_id: receiver.sessionId, bodies: got.map((m) => m.body), sessions: got.map((m) => m.sessionId) });
    expect("received bodies", got.map((m) => m.body), ["y0", "y1"]);
    const [first, second] = got;
    await receiver.deferMessage(first);
    const [deferred] = await receiver.receiveDeferredMessages([first.sequenceNumber]);
    emit("received_deferred", { body: deferred.body, state: deferred.state.toUpperCase(), session_id: deferred.sessionId });
    expect("deferred state", deferred.state, "deferred");
    const before = receiver.sessionLockedUntilUtc.getTime();
    await receiver.renewSessionLock();
    expect("renewing moves the session lock", receiver.sessionLockedUntilUtc.getTime() >= before, true);
    await receiver.completeMessage(deferred);
    await receiver.completeMessage(second);
    await receiver.close();
    const next = await sb.acceptNextSession(topic, subscription);
    const rest = await receiveN(next, 2);
    emit("next_session", { session_id: next.sessionId, bodies: rest.map((m) => m.body) });
    expect("next available session", next.sessionId, "x");
    for (const m of rest) await next.completeMessage(m);
  } finally {
    await sb.close();
  }
});
