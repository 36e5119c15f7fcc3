// Closing a session receiver with an unsettled message releases the session without counting
// the delivery: the next receiver gets the message with the same delivery count.
import { client, describe, emit, env, expect, main, receiveN } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client();
  try {
    await sb.createSender(queue).sendMessages({ body: "unfinished", sessionId: "rel", messageId: "m1" });
    let receiver = await sb.acceptSession(queue, "rel");
    const [first] = await receiveN(receiver, 1);
    emit("received", describe(first));
    await receiver.close();
    emit("closed");
    receiver = await sb.acceptSession(queue, "rel");
    const [again] = await receiveN(receiver, 1);
    emit("received", describe(again));
    expect("same message", again.messageId, "m1");
    expect("delivery count after closing", again.deliveryCount, first.deliveryCount);
    await receiver.completeMessage(again);
  } finally {
    await sb.close();
  }
});
