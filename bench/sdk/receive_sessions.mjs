// berth-bench's JS consumer: CONCURRENCY loops on one @azure/service-bus client, each accepting
// the next available session of SB_QUEUE, receiving batches of up to 100 messages, completing
// each, and leaving the session after IDLE_MS without a message; stops once TOTAL messages are
// completed. Prints {"messages", "elapsed_s", "cpu_s"} for the consuming alone.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const sdkDir = process.env.BERTH_SDK_NODE ?? path.resolve(here, "../../.cache/sdk/node");
const { ServiceBusClient } = createRequire(path.join(sdkDir, "package.json"))("@azure/service-bus");

const queue = process.env.SB_QUEUE;
const total = Number(process.env.TOTAL);
const concurrency = Number(process.env.CONCURRENCY);
const idleMs = Number(process.env.IDLE_MS);

const client = new ServiceBusClient(process.env.SB_CONNECTION_STRING, {
  retryOptions: { maxRetries: 0, timeoutInMs: 10000 },
});
let completed = 0;
const started = process.hrtime.bigint();
const cpu = process.cpuUsage();

function finish() {
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  process.stdout.write(
    JSON.stringify({ messages: completed, elapsed_s: elapsed, cpu_s: (used.user + used.system) / 1e6 }) + "\n",
  );
  process.exit(0);
}

async function consume() {
  while (completed < total) {
    let receiver;
    try {
      receiver = await client.acceptNextSession(queue, { maxAutoLockRenewalDurationInMs: 0 });
    } catch (error) {
      if (["ServiceTimeout", "SessionCannotBeLocked"].includes(error.code)) continue;
      throw error;
    }
    try {
      for (;;) {
        const batch = await receiver.receiveMessages(100, { maxWaitTimeInMs: idleMs });
        if (batch.length === 0) break;
        for (const message of batch) await receiver.completeMessage(message);
        completed += batch.length;
        if (completed >= total) finish();
      }
    } finally {
      await receiver.close();
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, consume)).catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
finish();
