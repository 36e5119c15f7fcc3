// Abandon puts the message back with delivery count + 1.
import { client, describe, emit, env, expect, main, receiveN } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client();
  try {
    const sender = sb.createSender(queue);
    await sender.sendMessages({ body: "retry-me", sessionId: "s", messageId: "m1" });
    const receiver = await sb.acceptSession(queue, "s");
    const [first] = await receiveN(receiver, 1);
    emit("received", describe(first));
    expect("first delivery count", first.deliveryCount, 0);
    await receiver.abandonMessage(first);
    emit("abandoned");
    const [second] = await receiveN(receiver, 1);
    emit("received", describe(second));
    expect("same message", second.messageId, "m1");
    expect("delivery count after abandon", second.deliveryCount, 1);
    expect("same sequence number", second.sequenceNumber.toNumber(), first.sequenceNumber.toNumber());
    await receiver.completeMessage(second);
    emit("completed");
  } finally {
    await sb.close();
  }
});
