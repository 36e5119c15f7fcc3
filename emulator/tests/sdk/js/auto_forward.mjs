// Auto-forwarding: a message moves on with its properties; a dead letter moves on with its
// reason and dead-letter source; a message the destination refuses lands in the transfer
// dead-letter queue.
import { client, emit, env, expect, main, receiveN, seq } from "./common.mjs";

await main(async () => {
  const source = env("SB_QUEUE");
  const destination = env("SB_DESTINATION");
  const graveyard = env("SB_GRAVEYARD");
  const toSessions = env("SB_TO_SESSIONS");
  const sb = client();
  try {
    await sb.createSender(source).sendMessages({
      body: "order",
      messageId: "o-1",
      subject: "orders",
      applicationProperties: { kind: "new" },
    });
    const receiver = sb.createReceiver(destination);
    const [moved] = await receiveN(receiver, 1);
    emit("forwarded", {
      body: moved.body,
      message_id: moved.messageId,
      subject: moved.subject,
      properties: moved.applicationProperties,
      sequence_number: seq(moved),
    });
    expect("body", moved.body, "order");
    expect("message id", moved.messageId, "o-1");
    expect("subject", moved.subject, "orders");
    expect("properties", moved.applicationProperties, { kind: "new" });
    await receiver.deadLetterMessage(moved, { deadLetterReason: "bad-order", deadLetterErrorDescription: "no customer" });
    const graveReceiver = sb.createReceiver(graveyard);
    const [dead] = await receiveN(graveReceiver, 1);
    emit("dead_letter_forwarded", {
      reason: dead.deadLetterReason,
      description: dead.deadLetterErrorDescription,
      source: dead.deadLetterSource,
    });
    expect("reason", dead.deadLetterReason, "bad-order");
    expect("description", dead.deadLetterErrorDescription, "no customer");
    expect("source", dead.deadLetterSource, destination);
    await graveReceiver.completeMessage(dead);
    await sb.createSender(toSessions).sendMessages({ body: "no session" });
    const tdlq = sb.createReceiver(toSessions, { subQueueType: "transferDeadLetter" });
    const [stuck] = await receiveN(tdlq, 1);
    emit("transfer_dead_letter", { body: stuck.body, reason: stuck.deadLetterReason });
    expect("stuck body", stuck.body, "no session");
    await tdlq.completeMessage(stuck);
  } finally {
    await sb.close();
  }
});
