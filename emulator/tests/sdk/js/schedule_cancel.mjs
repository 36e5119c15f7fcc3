// Schedule two messages, cancel one: only the other arrives, at its time, under a new sequence
// number (Azure: the number `schedule` returns is valid only while the message is scheduled).
import { client, emit, env, expect, fail, main, receiveN, seq } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client();
  try {
    const now = Date.now();
    const sender = sb.createSender(queue);
    const [cancelled] = await sender.scheduleMessages({ body: "never" }, new Date(now + 3600_000));
    const [kept] = await sender.scheduleMessages({ body: "soon" }, new Date(now + 2000));
    emit("scheduled", { sequence_numbers: [cancelled.toNumber(), kept.toNumber()] });
    const peeker = sb.createReceiver(queue);
    const peeked = await peeker.peekMessages(10);
    emit("peeked", { states: peeked.map((m) => m.state.toUpperCase()), bodies: peeked.map((m) => m.body) });
    expect("scheduled messages are peekable", peeked.map((m) => m.body).sort(), ["never", "soon"]);
    expect("peeked state", [...new Set(peeked.map((m) => m.state))], ["scheduled"]);
    await peeker.close();
    await sender.cancelScheduledMessages(cancelled);
    emit("cancelled", { sequence_number: cancelled.toNumber() });
    const receiver = sb.createReceiver(queue);
    const [message] = await receiveN(receiver, 1);
    emit("received", {
      body: message.body,
      sequence_number: seq(message),
      state: message.state.toUpperCase(),
      enqueued_time: message.enqueuedTimeUtc.toISOString(),
      scheduled_enqueue_time: message.scheduledEnqueueTimeUtc.toISOString(),
    });
    expect("scheduled body", message.body, "soon");
    expect("a new sequence number once active", seq(message) > Math.max(cancelled.toNumber(), kept.toNumber()), true);
    expect("active once received", message.state, "active");
    expect("enqueued when it turned active", message.enqueuedTimeUtc >= message.scheduledEnqueueTimeUtc, true);
    if (Date.now() < now + 2000 - 100) fail("scheduled message arrived before its time", { arrived: new Date().toISOString() });
    await receiver.completeMessage(message);
    expect("cancelled message never arrives", (await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 })).length, 0);
  } finally {
    await sb.close();
  }
});
