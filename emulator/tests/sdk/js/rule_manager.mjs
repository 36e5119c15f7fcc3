// The rule manager (createRuleManager) adds, lists and deletes correlation rules over
// $management, Service Bus's errors come back as the SDK's codes, and sends are then filtered
// by the rules: SB_SUBSCRIPTIONS[0] gets its rules changed, SB_SUBSCRIPTIONS[1] keeps $Default.
import { client, emit, env, errorInfo, expect, fail, main } from "./common.mjs";

async function listed(rules) {
  const out = [];
  for await (const rule of rules.listRules()) out.push({ name: rule.name, filter: rule.filter, action: rule.action });
  return out;
}

async function refusal(what, operation) {
  try {
    await operation();
  } catch (error) {
    const info = errorInfo(error);
    emit(what, info);
    return info;
  }
  fail(`${what} was accepted`);
}

await main(async () => {
  const topic = env("SB_TOPIC");
  const [filtered, plain] = env("SB_SUBSCRIPTIONS").split(",");
  const sb = client();
  try {
    const rules = sb.createRuleManager(topic, filtered);
    const initial = await listed(rules);
    emit("initial", { rules: initial });
    expect("initial rules", initial, [{ name: "$Default", filter: { sqlExpression: "1=1" }, action: {} }]);

    await rules.createRule("red", { applicationProperties: { color: "red" } });
    await rules.createRule("created-c1", { subject: "created", correlationId: "c-1" });
    await rules.deleteRule("$Default");
    const after = await listed(rules);
    emit("listed", { rules: after });
    expect("rule names", after.map((r) => r.name), ["red", "created-c1"]);
    expect("red filter properties", after[0].filter.applicationProperties, { color: "red" });
    expect("created-c1 subject", after[1].filter.subject, "created");
    expect("created-c1 correlation id", after[1].filter.correlationId, "c-1");

    const duplicate = await refusal("duplicate", () => rules.createRule("RED", { subject: "x" }));
    expect("duplicate code", duplicate.type, "MessagingEntityAlreadyExists");
    const missing = await refusal("missing", () => rules.deleteRule("nope"));
    expect("missing code", missing.type, "MessagingEntityNotFound");

    await sb.createSender(topic).sendMessages([
      { body: "m1", applicationProperties: { color: "red" } },
      { body: "m2", subject: "created", correlationId: "c-1" },
      { body: "m3", subject: "created" },
      { body: "m4", applicationProperties: { color: "blue" } },
    ]);
    for (const subscription of [filtered, plain]) {
      const receiver = sb.createReceiver(topic, subscription);
      const peeked = await receiver.peekMessages(20);
      emit("peeked", { subscription, bodies: peeked.map((m) => m.body) });
      await receiver.close();
    }
  } finally {
    await sb.close();
  }
});
