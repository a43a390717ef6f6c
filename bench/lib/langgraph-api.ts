/**
 * The LangGraph API server (the peer) as the benchmarks run it, and one run driven through
 * `@langchain/langgraph-sdk` the way every SDK benchmark drives one, whichever server answers.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "@langchain/langgraph-sdk";
import { humanInput } from "./baseline.js";
import { Child } from "./child.js";
import { benchRoot, resultsDir } from "./env.js";

/** Jobs per queue worker, as `langgraph dev` starts the server. */
export const PEER_JOBS = 10;

export interface PeerServer {
  url: string;
  pid: number | undefined;
  client: Client;
  stop(): Promise<void>;
}

/**
 * `@langchain/langgraph-api` in-memory (as `langgraph dev` runs it) in a process of its own on a
 * free loopback port, serving bench/graphs.ts `two_node`.
 */
export async function startPeer(): Promise<PeerServer> {
  const cwd = mkdtempSync(join(tmpdir(), "runbus-bench-peer-"));
  const server = Child.start("langgraph-api", resolve(benchRoot, "peer-server.ts"), {
    args: [JSON.stringify({ cwd, graphFile: resolve(benchRoot, "graphs.ts"), nWorkers: PEER_JOBS })],
    env: { LOG_LEVEL: "warn", LANGSMITH_TRACING: "false", LANGCHAIN_TRACING_V2: "false" },
    logFile: resolve(resultsDir, "logs", "langgraph-api.log"),
  });
  const stop = async () => {
    await server.stop();
    rmSync(cwd, { recursive: true, force: true });
  };
  try {
    const { host } = await server.next<{ type: string; host: string }>("ready", 120_000);
    const url = `http://${host}`;
    return { url, pid: server.pid, client: new Client({ apiUrl: url }), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** When the SSE events of one run arrived, in ms from the request. */
export interface SdkRunTiming {
  threadId: string;
  metadata: number;
  firstValues: number;
  total: number;
}

/**
 * One run of `two_node` on a fresh thread: `runs.stream` with `streamMode: ["values"]` and
 * `ifNotExists: "create"`, read to the end of the stream. An `error` event fails it.
 */
export async function sdkRun(client: Client, threadId: string = randomUUID()): Promise<SdkRunTiming> {
  const t0 = performance.now();
  let metadata = Number.NaN;
  let firstValues = Number.NaN;
  for await (const chunk of client.runs.stream(threadId, "two_node", { input: humanInput(), streamMode: ["values"], ifNotExists: "create" })) {
    const ms = performance.now() - t0;
    if (chunk.event === "metadata" && Number.isNaN(metadata)) metadata = ms;
    else if (chunk.event === "values" && Number.isNaN(firstValues)) firstValues = ms;
    else if (chunk.event === "error") throw new Error(`run failed: ${JSON.stringify(chunk.data)}`);
  }
  return { threadId, metadata, firstValues, total: performance.now() - t0 };
}
