// Peek shows messages without locking them or counting a delivery.
import { client, emit, env, expect, main, receiveN, seq } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client();
  try {
    await sb.createSender(queue).sendMessages([0, 1, 2].map((i) => ({ body: `p${i}`, sessionId: "peek" })));
    const receiver = await sb.acceptSession(queue, "peek");
    const peeked = await receiver.peekMessages(10);
    const sequenceNumbers = peeked.map(seq);
    emit("peeked", { bodies: peeked.map((m) => m.body), sequence_numbers: sequenceNumbers });
    expect("peeked bodies", peeked.map((m) => m.body), ["p0", "p1", "p2"]);
    expect("peeked sequence numbers ascend", sequenceNumbers, [...new Set(sequenceNumbers)].sort((x, y) => x - y));
    const received = await receiveN(receiver, 3);
    emit("received", { bodies: received.map((m) => m.body), delivery_counts: received.map((m) => m.deliveryCount) });
    expect("received bodies", received.map((m) => m.body), ["p0", "p1", "p2"]);
    expect("peek did not count deliveries", received.map((m) => m.deliveryCount), [0, 0, 0]);
    for (const message of received) await receiver.completeMessage(message);
    expect("peek after complete", (await receiver.peekMessages(10, { fromSequenceNumber: received[0].sequenceNumber })).length, 0);
    emit("completed");
  } finally {
    await sb.close();
  }
});
