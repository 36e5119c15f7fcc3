// Shared helpers for the @azure/service-bus scenario scripts run by emulator/tests/sdk_js.rs.
//
// Every script reads the connection string from SB_CONNECTION_STRING and entity names from
// SB_QUEUE / SB_TOPIC / SB_SUBSCRIPTIONS, prints one JSON object per line ({"event": ...}) with
// the same event and field names as the Python scripts, and exits non-zero on the first
// mismatch ("mismatch" event) or unexpected error ("error" event).
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const sdkDir = process.env.BERTH_SDK_NODE ?? path.resolve(here, "../../../../.cache/sdk/node");
const require = createRequire(path.join(sdkDir, "package.json"));

/** The installed @azure/service-bus module. */
export const servicebus = require("@azure/service-bus");

export function env(name) {
  const value = process.env[name];
  if (!value) fail("missing environment variable", { name });
  return value;
}

export function emit(event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
}

export function fail(what, fields = {}) {
  emit("mismatch", { what, ...fields });
  process.exit(1);
}

export function expect(what, actual, expected) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) fail(what, { expected, actual });
}

export function client(connectionString, options = {}) {
  return new servicebus.ServiceBusClient(connectionString ?? env("SB_CONNECTION_STRING"), options);
}

/** Receives until `count` messages arrived or `timeoutMs` passed. */
export async function receiveN(receiver, count, timeoutMs = 20000) {
  const messages = [];
  const deadline = Date.now() + timeoutMs;
  while (messages.length < count && Date.now() < deadline) {
    const remaining = Math.max(1000, deadline - Date.now());
    messages.push(...(await receiver.receiveMessages(count - messages.length, { maxWaitTimeInMs: remaining })));
  }
  return messages;
}

export function seq(message) {
  return message.sequenceNumber.toNumber();
}

export function describe(message) {
  return {
    body: message.body,
    session_id: message.sessionId ?? null,
    message_id: message.messageId ?? null,
    sequence_number: seq(message),
    delivery_count: message.deliveryCount,
  };
}

export function errorInfo(error) {
  return { type: error.code ?? error.name, message: error.message };
}

/** Runs a scenario: prints "done" and exits 0, or prints the error and exits 1. */
export async function main(scenario) {
  try {
    await scenario();
    emit("done");
    process.exit(0);
  } catch (error) {
    emit("error", { ...errorInfo(error), stack: error.stack });
    process.exit(1);
  }
}
