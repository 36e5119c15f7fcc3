// Renewing the session lock returns a new, later locked-until.
import { client, emit, env, expect, fail, main } from "./common.mjs";

await main(async () => {
  const queue = env("SB_QUEUE");
  const sb = client();
  try {
    const receiver = await sb.acceptSession(queue, "renew", { maxAutoLockRenewalDurationInMs: 0 });
    const before = receiver.sessionLockedUntilUtc;
    const renewed = await receiver.renewSessionLock();
    emit("renewed", { before: before.toISOString(), after: renewed.toISOString() });
    if (renewed.getTime() <= Date.now()) fail("renewed lock is already expired", { after: renewed.toISOString() });
    if (renewed.getTime() < before.getTime()) fail("renewed lock is earlier than before", { before: before.toISOString(), after: renewed.toISOString() });
    expect("session locked_until follows renew", receiver.sessionLockedUntilUtc.getTime(), renewed.getTime());
  } finally {
    await sb.close();
  }
});
