// Waits until the MongoDB wire-protocol server at URI answers a ping.
//   node wait-ready.mjs URI TIMEOUT_SECONDS [PID]
// Exits 1 on timeout, or at once when PID (the server process) has died.
import { MongoClient } from "mongodb";

const [uri, timeoutArg = "30", pidArg] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutArg) * 1000;
const pid = pidArg ? Number(pidArg) : undefined;

function alive(p) {
  try {
    process.kill(p, 0);
    return true;
  } catch {
    return false;
  }
}

let lastError = "no attempt";
while (Date.now() < deadline) {
  if (pid !== undefined && !alive(pid)) {
    console.error(`secantus: server process ${pid} exited during start-up`);
    process.exit(1);
  }
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
  try {
    await client.connect();
    await client.db("admin").command({ ping: 1 });
    await client.close();
    process.exit(0);
  } catch (error) {
    lastError = error instanceof Error ? error.message : String(error);
    await client.close().catch(() => {});
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
console.error(`secantus: no ping answer from ${uri} within ${timeoutArg}s (${lastError})`);
process.exit(1);
