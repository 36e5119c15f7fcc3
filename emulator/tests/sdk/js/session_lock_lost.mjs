// A session lock that is not renewed expires: the broker detaches the receive link with
// session-lock-lost, and the unsettled message comes back with delivery count + 1 (run against
// a session queue with a short lock duration).
import { client, describe, emit, env, expect, fail, main, receiveN } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client(undefined, { retryOptions: { maxRetries: 0 } });
  try {
    await sb.createSender(queue).sendMessages({ body: "held", sessionId: "exp", messageId: "m1" });
    let receiver = await sb.acceptSession(queue, "exp", { maxAutoLockRenewalDurationInMs: 0 });
    const [first] = await receiveN(receiver, 1);
    emit("received", describe(first));
    try {
      for (let i = 0; i < 5; i++) await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
      fail("the session lock never expired");
    } catch (error) {
      if (error.code !== "SessionLockLost") throw error;
      emit("lock_lost", { type: error.code });
    }
    await receiver.close();
    receiver = await sb.acceptSession(queue, "exp", { maxAutoLockRenewalDurationInMs: 0 });
    const [again] = await receiveN(receiver, 1);
    emit("received", describe(again));
    expect("same message", again.messageId, "m1");
    expect("delivery count after session lock expiry", again.deliveryCount, 1);
    await receiver.completeMessage(again);
  } finally {
    await sb.close();
  }
});
