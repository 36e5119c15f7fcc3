// A batch filled up to the SDK's own size limit (taken from the broker's max-message-size) is
// accepted whole, and every message in it arrives.
import { client, emit, env, expect, main, receiveN } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client();
  try {
    const sender = sb.createSender(queue);
    const batch = await sender.createMessageBatch();
    let count = 0;
    while (batch.tryAddMessage({ body: `m${count}` + "x".repeat(200), applicationProperties: { n: count } })) count++;
    emit("batch", { count, size: batch.sizeInBytes, max: batch.maxSizeInBytes });
    await sender.sendMessages(batch);
    const receiver = sb.createReceiver(queue, { receiveMode: "receiveAndDelete" });
    const received = await receiveN(receiver, count, 60000);
    emit("received", { count: received.length });
    expect("every message arrives in order", received.map((m, i) => m.body.slice(0, `m${i}`.length)), received.map((_, i) => `m${i}`));
  } finally {
    await sb.close();
  }
});
