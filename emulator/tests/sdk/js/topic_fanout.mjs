// A message sent to a topic reaches every subscription.
import { client, emit, env, expect, main, receiveN } from "./common.mjs";

await main(async () => {
  const topic = env("SB_TOPIC");
  const sb = client();
  try {
    await sb.createSender(topic).sendMessages([{ body: "news-1" }, { body: "news-2" }]);
    for (const subscription of env("SB_SUBSCRIPTIONS").split(",")) {
      const receiver = sb.createReceiver(topic, subscription);
      const messages = await receiveN(receiver, 2);
      const bodies = messages.map((m) => m.body);
      emit("received", { subscription, bodies });
      expect(`bodies on ${subscription}`, bodies, ["news-1", "news-2"]);
      for (const message of messages) await receiver.completeMessage(message);
      await receiver.close();
    }
  } finally {
    await sb.close();
  }
});
