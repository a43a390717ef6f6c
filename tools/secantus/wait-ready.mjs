// Waits until the MongoDB wire-protocol server at URI answers a ping.
//   node wait-ready.mjs URI TIMEOUT_SECONDS [PID]
// Exits 1 on timeout, or at once when PID (the server process) has died.
import { MongoClient } from "mongodb";
import { waitReady } from "../wait-ready.mjs";

const [uri, timeoutSeconds = "30", pidArg] = process.argv.slice(2);

await waitReady({
  what: "secantus",
  process: "server process",
  timeoutSeconds,
  pid: pidArg ? Number(pidArg) : undefined,
  pollMs: 100,
  failure: `no ping answer from ${uri}`,
  probe: async () => {
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
    try {
      await client.connect();
      await client.db("admin").command({ ping: 1 });
      return true;
    } finally {
      await client.close().catch(() => {});
    }
  },
});
