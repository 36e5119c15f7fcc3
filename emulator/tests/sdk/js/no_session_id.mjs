// A message without session id is refused by a session-enabled queue with SB's text.
import { client, emit, env, errorInfo, fail, main } from "./common.mjs";

const TEXT =
  "The SessionId was not set on a message, and it cannot be sent to the entity. " +
  "Entities that have session support enabled can only receive messages that have the " +
  "SessionId set to a valid value.";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client(undefined, { retryOptions: { maxRetries: 0 } });
  try {
    const sender = sb.createSender(queue);
    try {
      await sender.sendMessages({ body: "orphan" });
      fail("a message without session id was accepted");
    } catch (error) {
      emit("refused", errorInfo(error));
      if (!error.message.includes(TEXT)) fail("refusal text", { expected: TEXT, actual: error.message });
    }
    await sender.sendMessages({ body: "fine", sessionId: "s" });
    emit("sent_with_session_id");
  } finally {
    await sb.close();
  }
});
