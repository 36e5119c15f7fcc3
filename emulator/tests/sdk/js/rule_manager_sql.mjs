// SQL rules through the rule manager: a SQL filter, a SQL filter with an action (its copies
// carry RuleName and the action's property), and a bad expression refused with its position.
import { client, emit, env, errorInfo, expect, fail, main } from "./common.mjs";

await main(async () => {
  const topic = env("SB_TOPIC");
  const [subscription] = env("SB_SUBSCRIPTIONS").split(",");
  const sb = client();
  try {
    const rules = sb.createRuleManager(topic, subscription);
    await rules.createRule("blue", { sqlExpression: "color = 'blue'" });
    await rules.createRule("tag", { sqlExpression: "sys.Label = 'created'" }, { sqlExpression: "SET tagged = 'yes'" });
    await rules.deleteRule("$Default");
    const listed = [];
    for await (const rule of rules.listRules()) listed.push({ name: rule.name, filter: rule.filter, action: rule.action });
    emit("listed", { rules: listed });
    expect("listed", listed, [
      { name: "blue", filter: { sqlExpression: "color = 'blue'" }, action: {} },
      { name: "tag", filter: { sqlExpression: "sys.Label = 'created'" }, action: { sqlExpression: "SET tagged = 'yes'" } },
    ]);
    try {
      await rules.createRule("bad", { sqlExpression: "color = = 'red'" });
      fail("a bad SQL expression was accepted");
    } catch (error) {
      emit("bad_sql", errorInfo(error));
    }
    await sb.createSender(topic).sendMessages([
      { body: "m1", subject: "created", applicationProperties: { color: "red" } },
      { body: "m2", applicationProperties: { color: "blue" } },
    ]);
    const receiver = sb.createReceiver(topic, subscription);
    const peeked = await receiver.peekMessages(20);
    emit("peeked", {
      bodies: peeked.map((m) => m.body),
      rule_names: peeked.map((m) => m.applicationProperties?.RuleName ?? null),
      tagged: peeked.map((m) => m.applicationProperties?.tagged ?? null),
    });
    await receiver.close();
  } finally {
    await sb.close();
  }
});
