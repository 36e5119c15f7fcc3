// Receive-and-delete removes messages on delivery.
import { client, emit, env, expect, main, receiveN } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client();
  try {
    await sb.createSender(queue).sendMessages([{ body: "gone-1" }, { body: "gone-2" }]);
    const receiver = sb.createReceiver(queue, { receiveMode: "receiveAndDelete" });
    const messages = await receiveN(receiver, 2);
    emit("received", { bodies: messages.map((m) => m.body) });
    expect("bodies", messages.map((m) => m.body), ["gone-1", "gone-2"]);
    await receiver.close();
    const left = await sb.createReceiver(queue).peekMessages(10);
    emit("peeked", { count: left.length });
    expect("nothing left", left.length, 0);
  } finally {
    await sb.close();
  }
});
