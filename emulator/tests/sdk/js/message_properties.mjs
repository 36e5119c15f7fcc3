// Every property the SDK reads from a peeked, received and dead-lettered message, as Azure sets
// it. The queue's default time to live is 30 minutes: it caps a longer message TTL and stands
// in for a missing one, and the received message reports the TTL its expiry was computed with.
import { client, emit, env, expect, main, receiveN, seq } from "./common.mjs";

const DEFAULT_TTL = 30 * 60_000;

function props(m) {
  return {
    body: m.body,
    sequence_number: seq(m),
    enqueued_sequence_number: m.enqueuedSequenceNumber ?? null,
    state: m.state.toUpperCase(),
    delivery_count: m.deliveryCount,
    time_to_live_ms: m.timeToLive ?? null,
    expires_after_enqueue_ms: m.expiresAtUtc ? m.expiresAtUtc.getTime() - m.enqueuedTimeUtc.getTime() : null,
    locked: m.lockedUntilUtc != null,
    to: m.to ?? null,
    reply_to: m.replyTo ?? null,
    partition_key: m.partitionKey ?? null,
    subject: m.subject ?? null,
    correlation_id: m.correlationId ?? null,
    dead_letter_reason: m.deadLetterReason ?? null,
    dead_letter_error_description: m.deadLetterErrorDescription ?? null,
    dead_letter_source: m.deadLetterSource ?? null,
  };
}

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client();
  try {
    const started = Date.now() - 5000;
    await sb.createSender(queue).sendMessages([
      {
        body: "long",
        timeToLive: 2 * 3600_000,
        to: "someone",
        replyTo: "back",
        partitionKey: "pk",
        subject: "greeting",
        correlationId: "c-1",
      },
      { body: "short", timeToLive: 5 * 60_000 },
      { body: "none" },
    ]);
    const receiver = sb.createReceiver(queue);
    const peeked = await receiver.peekMessages(10);
    for (const m of peeked) emit("peeked", props(m));
    expect("peeked messages hold no lock", peeked.map((m) => props(m).locked), [false, false, false]);
    const received = await receiveN(receiver, 3);
    for (const m of received) {
      emit("received", props(m));
      expect(`state of ${m.body}`, m.state, "active");
      expect(`first delivery of ${m.body}`, m.deliveryCount, 0);
      expect(`enqueued time of ${m.body}`, m.enqueuedTimeUtc.getTime() >= started, true);
      expect(`locked until of ${m.body}`, m.lockedUntilUtc.getTime() > Date.now(), true);
    }
    const byBody = Object.fromEntries(received.map((m) => [m.body, m]));
    // `expiresAtUtc` follows header.ttl; `timeToLive` prefers the sender's own
    // absolute-expiry-time minus creation-time, which the broker leaves as sent.
    const expiresAfter = (m) => m.expiresAtUtc.getTime() - m.enqueuedTimeUtc.getTime();
    expect("a longer TTL is capped by the entity's", expiresAfter(byBody.long), DEFAULT_TTL);
    expect("a shorter TTL is kept", expiresAfter(byBody.short), 5 * 60_000);
    expect("no TTL: the entity's", [expiresAfter(byBody.none), byBody.none.timeToLive], [DEFAULT_TTL, DEFAULT_TTL]);
    const long = byBody.long;
    expect(
      "properties kept",
      [long.to, long.replyTo, long.partitionKey, long.subject, long.correlationId],
      ["someone", "back", "pk", "greeting", "c-1"],
    );
    await receiver.deadLetterMessage(long, { deadLetterReason: "bad", deadLetterErrorDescription: "it was bad" });
    for (const m of received.slice(1)) await receiver.completeMessage(m);
    const dlq = sb.createReceiver(queue, { subQueueType: "deadLetter" });
    const [dead] = await receiveN(dlq, 1);
    emit("dead_lettered", props(dead));
    expect("dead-letter reason", dead.deadLetterReason, "bad");
    expect("dead-letter description", dead.deadLetterErrorDescription, "it was bad");
    expect("no dead-letter source without forwarding", dead.deadLetterSource ?? null, null);
    expect("dead-letter keeps the sequence number", seq(dead), seq(long));
    expect("dead-lettered state", dead.state, "active");
    await dlq.completeMessage(dead);
  } finally {
    await sb.close();
  }
});
