// Subscriptions with rules from the entities TOML get only the messages their rules admit.
//
// Sends four messages to SB_TOPIC, then peeks each of SB_SUBSCRIPTIONS and reports the bodies
// (and the RuleName property of copies made by rule actions); the Rust test checks them.
import { client, emit, env, main } from "./common.mjs";

const MESSAGES = [
  { body: "m1", subject: "created", applicationProperties: { color: "red", region: "eu" } },
  { body: "m2", subject: "deleted", applicationProperties: { color: "blue" } },
  { body: "m3", subject: "created", correlationId: "c-1", applicationProperties: { color: "blue", region: "us" } },
  { body: "m4", applicationProperties: { color: "red" } },
];

await main(async () => {
  const topic = env("SB_TOPIC");
  const sb = client();
  try {
    await sb.createSender(topic).sendMessages(MESSAGES);
    for (const subscription of env("SB_SUBSCRIPTIONS").split(",")) {
      const receiver = sb.createReceiver(topic, subscription);
      const peeked = await receiver.peekMessages(20);
      emit("peeked", {
        subscription,
        bodies: peeked.map((m) => m.body),
        rule_names: peeked.map((m) => m.applicationProperties?.RuleName ?? null),
      });
      await receiver.close();
    }
  } finally {
    await sb.close();
  }
});
