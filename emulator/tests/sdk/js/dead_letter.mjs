// Dead-letter with reason and description, then read it from the dead-letter queue.
import { client, describe, emit, env, expect, main, receiveN } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client();
  try {
    await sb.createSender(queue).sendMessages({ body: "poison", sessionId: "x", messageId: "m1" });
    const receiver = await sb.acceptSession(queue, "x");
    const [message] = await receiveN(receiver, 1);
    await receiver.deadLetterMessage(message, { deadLetterReason: "bad-input", deadLetterErrorDescription: "could not parse" });
    emit("dead_lettered");
    expect("session is empty", (await receiver.receiveMessages(1, { maxWaitTimeInMs: 1000 })).length, 0);
    await receiver.close();
    const dlq = sb.createReceiver(queue, { subQueueType: "deadLetter" });
    const [dead] = await receiveN(dlq, 1);
    emit("received_dead_letter", { reason: dead.deadLetterReason, description: dead.deadLetterErrorDescription, ...describe(dead) });
    expect("body", dead.body, "poison");
    expect("reason", dead.deadLetterReason, "bad-input");
    expect("description", dead.deadLetterErrorDescription, "could not parse");
    await dlq.completeMessage(dead);
    emit("completed");
  } finally {
    await sb.close();
  }
});
