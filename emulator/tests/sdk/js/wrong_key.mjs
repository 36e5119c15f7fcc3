// A connection string with the wrong SAS key is refused.
import { client, emit, env, errorInfo, fail, main } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const wrong = env("SB_CONNECTION_STRING").replace(/SharedAccessKey=[^;]*/, "SharedAccessKey=not-the-key");
  const sb = client(wrong, { retryOptions: { maxRetries: 0, timeoutInMs: 10000 } });
  try {
    await sb.createSender(queue).sendMessages({ body: "intruder", sessionId: "s" });
    fail("a wrong key was accepted");
  } catch (error) {
    if (error.code !== "UnauthorizedAccess") throw error;
    emit("refused", errorInfo(error));
  } finally {
    await sb.close();
  }
});
