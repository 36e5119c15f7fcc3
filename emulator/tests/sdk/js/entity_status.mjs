// Disabled, SendDisabled and ReceiveDisabled entities refuse what they disable with
// MessagingEntityDisabledError (condition com.microsoft:entity-disabled).
import { client, emit, env, errorInfo, fail, main } from "./common.mjs";

async function refused(what, action) {
  try {
    await action();
  } catch (error) {
    emit("refused", { what, ...errorInfo(error) });
    return;
  }
  fail(`${what} was allowed`);
}

await main(async () => {
  const sb = client(undefined, { retryOptions: { maxRetries: 0 } });
  try {
    await refused("send to Disabled", () => sb.createSender(env("SB_DISABLED")).sendMessages({ body: "x" }));
    const sendDisabled = env("SB_SEND_DISABLED");
    await refused("send to SendDisabled", () => sb.createSender(sendDisabled).sendMessages({ body: "x" }));
    const fromSendDisabled = await sb.createReceiver(sendDisabled).receiveMessages(1, { maxWaitTimeInMs: 2000 });
    emit("received_from_send_disabled", { count: fromSendDisabled.length });
    const receiveDisabled = env("SB_RECEIVE_DISABLED");
    await sb.createSender(receiveDisabled).sendMessages({ body: "kept" });
    emit("sent_to_receive_disabled");
    await refused("receive from ReceiveDisabled", () =>
      sb.createReceiver(receiveDisabled).receiveMessages(1, { maxWaitTimeInMs: 5000 }),
    );
  } finally {
    await sb.close();
  }
});
