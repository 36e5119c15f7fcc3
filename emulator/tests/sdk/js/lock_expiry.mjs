// An unsettled message whose lock expires is redelivered with delivery count + 1
// (run against a queue with a short lock duration); settling with the stale lock fails.
import { client, describe, emit, env, expect, fail, main, receiveN } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client(undefined, { retryOptions: { maxRetries: 0 } });
  try {
    await sb.createSender(queue).sendMessages({ body: "slow", messageId: "m1" });
    const receiver = sb.createReceiver(queue, { maxAutoLockRenewalDurationInMs: 0 });
    const [first] = await receiveN(receiver, 1);
    emit("received", { locked_until: first.lockedUntilUtc.toISOString(), ...describe(first) });
    expect("first delivery count", first.deliveryCount, 0);
    const [second] = await receiveN(receiver, 1, 30000);
    emit("redelivered", describe(second));
    expect("same message", second.messageId, "m1");
    expect("delivery count after lock expiry", second.deliveryCount, 1);
    if (second.lockToken === first.lockToken) fail("redelivery reused the expired lock token", { lock_token: first.lockToken });
    try {
      await receiver.completeMessage(first);
      fail("completing with an expired lock succeeded");
    } catch (error) {
      if (error.code !== "MessageLockLost") throw error;
      emit("stale_lock_refused", { type: error.code });
    }
    await receiver.completeMessage(second);
    emit("completed");
  } finally {
    await sb.close();
  }
});
