/**
 * The LangGraph API server, in-memory, started the way `langgraph dev` starts it (its
 * entrypoint calls `startServer` with the langgraph.json graphs and 10 jobs per worker), in a
 * process of its own on a free loopback port. Driven over IPC.
 *   argv[2]: JSON {cwd, graphFile, nWorkers}
 */
import { startServer } from "@langchain/langgraph-api/server";
import { serveParent } from "./lib/child.js";

const options = JSON.parse(process.argv[2] ?? "{}") as { cwd: string; graphFile: string; nWorkers: number };
const { host, cleanup } = await startServer({
  port: 0,
  nWorkers: options.nWorkers,
  host: "127.0.0.1",
  cwd: options.cwd,
  graphs: { two_node: `${options.graphFile}:two_node` },
});
serveParent(async (message) => {
  if (message.type === "stop") {
    await cleanup().catch(() => undefined);
    process.exit(0);
  }
});
process.send?.({ type: "ready", host });
