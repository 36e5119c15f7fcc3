// Accepting a session another receiver holds fails with SB's text.
import { client, emit, env, errorInfo, fail, main } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client(undefined, { retryOptions: { maxRetries: 0 } });
  try {
    await sb.createSender(queue).sendMessages({ body: "held", sessionId: "L" });
    const holder = await sb.acceptSession(queue, "L");
    emit("holder_accepted", { session_id: holder.sessionId });
    try {
      await sb.acceptSession(queue, "L");
      fail("a locked session was accepted twice");
    } catch (error) {
      if (error.code !== "SessionCannotBeLocked") throw error;
      emit("refused", errorInfo(error));
      // The SDK reports its own text when the broker's attach echoes no session id.
      if (!error.message.includes("'L'. It may be locked by another receiver")) fail("refusal text", { actual: error.message });
    }
  } finally {
    await sb.close();
  }
});
