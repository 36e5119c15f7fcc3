// A repeated message id is accepted and dropped by a queue and a topic that detect duplicates.
import { client, emit, env, expect, main, receiveN } from "./common.mjs";

async function drain(receiver, count) {
  const messages = await receiveN(receiver, count);
  messages.push(...(await receiver.receiveMessages(10, { maxWaitTimeInMs: 2000 })));
  for (const m of messages) await receiver.completeMessage(m);
  return messages.map((m) => m.body);
}

await main(async () => {
  const queue = env("SB_QUEUE");
  const topic = env("SB_TOPIC");
  const [subscription] = env("SB_SUBSCRIPTIONS").split(",");
  const sb = client();
  try {
    const sender = sb.createSender(queue);
    await sender.sendMessages({ body: "first", messageId: "order-1" });
    await sender.sendMessages({ body: "repeat", messageId: "order-1" });
    await sender.sendMessages([
      { body: "second", messageId: "order-2" },
      { body: "repeat in batch", messageId: "order-2" },
    ]);
    emit("sent", { count: 4 });
    const bodies = await drain(sb.createReceiver(queue), 2);
    emit("received", { bodies });
    expect("queue bodies", bodies, ["first", "second"]);
    const topicSender = sb.createSender(topic);
    await topicSender.sendMessages({ body: "news", messageId: "n-1" });
    await topicSender.sendMessages({ body: "news again", messageId: "n-1" });
    const fromTopic = await drain(sb.createReceiver(topic, subscription), 1);
    emit("received_from_topic", { bodies: fromTopic });
    expect("subscription bodies", fromTopic, ["news"]);
  } finally {
    await sb.close();
  }
});
