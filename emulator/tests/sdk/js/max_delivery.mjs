// After max-delivery-count abandons the message moves to the dead-letter queue with reason
// MaxDeliveryCountExceeded (run against a queue with max_delivery_count = 2).
import { client, describe, emit, env, expect, main, receiveN } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client();
  try {
    await sb.createSender(queue).sendMessages({ body: "hopeless", messageId: "m1" });
    const receiver = sb.createReceiver(queue);
    for (const attempt of [0, 1]) {
      const [message] = await receiveN(receiver, 1);
      emit("received", describe(message));
      expect("delivery count", message.deliveryCount, attempt);
      await receiver.abandonMessage(message);
    }
    expect("queue is empty after max deliveries", (await receiver.receiveMessages(1, { maxWaitTimeInMs: 1000 })).length, 0);
    const dlq = sb.createReceiver(queue, { subQueueType: "deadLetter" });
    const [dead] = await receiveN(dlq, 1);
    emit("received_dead_letter", { reason: dead.deadLetterReason, description: dead.deadLetterErrorDescription, ...describe(dead) });
    expect("body", dead.body, "hopeless");
    expect("reason", dead.deadLetterReason, "MaxDeliveryCountExceeded");
    await dlq.completeMessage(dead);
  } finally {
    await sb.close();
  }
});
