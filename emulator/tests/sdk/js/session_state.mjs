// Get and set session state; the state outlives the receiver; setting null clears it.
import { client, emit, env, expect, main } from "./common.mjs";

const text = (state) => (state == null ? null : Buffer.from(state).toString());

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client();
  try {
    let receiver = await sb.acceptSession(queue, "state");
    const initial = await receiver.getSessionState();
    emit("state", { value: initial ?? null });
    expect("initial state", initial ?? null, null);
    await receiver.setSessionState(Buffer.from("checkpoint-1"));
    expect("state after set", text(await receiver.getSessionState()), "checkpoint-1");
    emit("state_set");
    await receiver.close();
    receiver = await sb.acceptSession(queue, "state");
    const kept = text(await receiver.getSessionState());
    emit("state", { value: kept });
    expect("state after re-accept", kept, "checkpoint-1");
    await receiver.setSessionState(null);
    expect("state after clear", (await receiver.getSessionState()) ?? null, null);
    emit("state_cleared");
  } finally {
    await sb.close();
  }
});
