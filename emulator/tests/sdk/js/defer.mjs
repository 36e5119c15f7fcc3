// Defer a message, then receive it by sequence number and complete it.
import { client, describe, emit, env, expect, main, receiveN, seq } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client();
  try {
    await sb.createSender(queue).sendMessages({ body: "later", sessionId: "d", messageId: "m1" });
    const receiver = await sb.acceptSession(queue, "d");
    const [message] = await receiveN(receiver, 1);
    await receiver.deferMessage(message);
    emit("deferred", { sequence_number: seq(message) });
    expect("deferred message is not received again", (await receiver.receiveMessages(1, { maxWaitTimeInMs: 1000 })).length, 0);
    const [deferred] = await receiver.receiveDeferredMessages([message.sequenceNumber]);
    emit("received_deferred", { state: deferred.state.toUpperCase(), ...describe(deferred) });
    expect("deferred body", deferred.body, "later");
    expect("deferred sequence number", seq(deferred), seq(message));
    expect("deferred state", deferred.state, "deferred");
    // Abandoning a deferred message (settled through $management) with properties to modify
    // keeps it deferred, counts the attempt and changes its application properties.
    await receiver.abandonMessage(deferred, { tries: 2 });
    const [again] = await receiver.receiveDeferredMessages([message.sequenceNumber]);
    emit("modified_deferred", { tries: again.applicationProperties?.tries ?? null, delivery_count: again.deliveryCount });
    expect("modified property", again.applicationProperties?.tries, 2);
    await receiver.completeMessage(again);
    emit("completed");
    expect("queue is empty", (await receiver.peekMessages(10)).length, 0);
  } finally {
    await sb.close();
  }
});
