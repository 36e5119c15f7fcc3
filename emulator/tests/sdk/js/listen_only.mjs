// A Listen-only SAS rule receives but cannot send: Azure's "'Send' claim(s) are required".
import { client, emit, env, errorInfo, fail, main } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const listen = client(env("SB_LISTEN_CONNECTION_STRING"), { retryOptions: { maxRetries: 0, timeoutInMs: 10000 } });
  try {
    await listen.createSender(queue).sendMessages({ body: "not allowed" });
    fail("a Listen-only rule could send");
  } catch (error) {
    if (error.code !== "UnauthorizedAccess") throw error;
    emit("refused", errorInfo(error));
  }
  const root = client(env("SB_CONNECTION_STRING"));
  await root.createSender(queue).sendMessages({ body: "allowed" });
  await root.close();
  const receiver = listen.createReceiver(queue);
  const received = await receiver.receiveMessages(1, { maxWaitTimeInMs: 10000 });
  if (received.length !== 1 || received[0].body !== "allowed") fail("received with Listen", { received: received.map((m) => m.body) });
  await receiver.completeMessage(received[0]);
  emit("received", { bodies: received.map((m) => m.body) });
  await listen.close();
});
