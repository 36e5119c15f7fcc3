// Send with session ids; accept a session by id and the next available one; in-order receive;
// complete; then next-available with nothing left fails.
import { client, emit, env, expect, fail, main, receiveN, seq } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client(undefined, { retryOptions: { maxRetries: 0, timeoutInMs: 3000 } });
  try {
    const sender = sb.createSender(queue);
    const sends = [["a1", "a"], ["b1", "b"], ["a2", "a"], ["b2", "b"], ["a3", "a"]];
    for (const [body, sessionId] of sends) await sender.sendMessages({ body, sessionId, messageId: body });
    await sender.close();
    emit("sent", { count: sends.length });

    for (const [requested, expected] of [["a", ["a1", "a2", "a3"]], [null, ["b1", "b2"]]]) {
      const receiver = requested === null ? await sb.acceptNextSession(queue) : await sb.acceptSession(queue, requested);
      const sessionId = receiver.sessionId;
      const messages = await receiveN(receiver, expected.length);
      const bodies = messages.map((m) => m.body);
      const sequenceNumbers = messages.map(seq);
      emit("received", { session_id: sessionId, bodies, sequence_numbers: sequenceNumbers, delivery_counts: messages.map((m) => m.deliveryCount) });
      expect(`bodies of session ${sessionId}`, bodies, expected);
      expect("session ids", [...new Set(messages.map((m) => m.sessionId))], [sessionId]);
      expect("sequence numbers ascend", sequenceNumbers, [...sequenceNumbers].sort((x, y) => x - y));
      for (const message of messages) await receiver.completeMessage(message);
      emit("completed", { session_id: sessionId, count: messages.length });
      expect("nothing left in session", (await receiver.receiveMessages(1, { maxWaitTimeInMs: 1000 })).length, 0);
      await receiver.close();
    }

    try {
      const receiver = await sb.acceptNextSession(queue);
      fail("next-available session with no messages was accepted", { session_id: receiver.sessionId });
    } catch (error) {
      if (!["ServiceTimeout", "SessionCannotBeLocked"].includes(error.code)) throw error;
      emit("no_session_left", { type: error.code });
    }
  } finally {
    await sb.close();
  }
});
