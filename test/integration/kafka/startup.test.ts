import { createServer, connect, type Server } from "node:net";
import { pino } from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createClient } from "../../../src/client/client.js";
import { loadConfig } from "../../../src/config.js";
import { Worker } from "../../../src/worker.js";
import { testGraphs } from "../../fixtures/graphs.js";
import { memoryStores, uniquePrefix } from "../../helpers/kafka-worker.js";
import { unusedPort } from "../../helpers/ports.js";

/** Starts forwarding `port` to the real broker: the broker "comes up" at that address. */
async function forward(port: number, target: string): Promise<{ server: Server; close: () => Promise<void> }> {
  const [host, targetPort] = target.split(":");
  const sockets = new Set<{ destroy(): void }>();
  const server = createServer((socket) => {
    const upstream = connect(Number(targetPort), host!);
    sockets.add(socket).add(upstream);
    socket.pipe(upstream).pipe(socket);
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on("error", close);
    upstream.on("error", close);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { server, close };
}

const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

describe("a worker started while its broker is down", () => {
  it("waits with a clear log line per attempt, then starts and serves runs once the broker is up", async () => {
    const broker = inject("kafkaBrokers")[0]!;
    const port = await unusedPort();
    const prefix = uniquePrefix();
    const lines: Array<{ msg: string }> = [];
    const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const config = loadConfig({}, { kafka: { brokers: [`127.0.0.1:${port}`] }, topicPrefix: prefix, commandPartitions: 2 });
    const worker = await Worker.create(config, { graphs: testGraphs, logger, stores: memoryStores() });

    let started = false;
    const starting = worker.start().then(() => (started = true));
    await expect.poll(() => lines.some((l) => l.msg.startsWith(`waiting for Kafka at 127.0.0.1:${port}`)), { timeout: 60_000 }).toBe(true);
    expect(started).toBe(false);
    expect(worker.state).toBe("starting");

    const proxy = await forward(port, broker);
    // Torn down in reverse: the client, the worker, then the forwarder and its connections.
    cleanup.push(() => proxy.close());
    cleanup.push(() => worker.stop(1000));
    await starting;
    expect(worker.state).toBe("running");
    expect(lines.some((l) => l.msg === `Kafka at 127.0.0.1:${port} is available`)).toBe(true);

    const client = createClient({ brokers: [broker], topicPrefix: prefix, replyTimeoutMs: 20_000 });
    cleanup.push(() => client.close());
    const result = await client.runs.wait({ thread_id: "late-broker", graph_id: "echo", input: { messages: [{ role: "user", content: "hi" }] } });
    expect(result.status).toBe("success");
  });
});

describe("a worker started against a healthy broker", () => {
  it("logs no line at error level or above while it starts, serves a run and stops", async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    // A prefix of its own: new topics and groups, as on a fresh deployment.
    const prefix = uniquePrefix();
    const config = loadConfig({}, { kafka: { brokers: inject("kafkaBrokers") }, topicPrefix: prefix, commandPartitions: 2 });
    const worker = await Worker.create(config, { graphs: testGraphs, logger, stores: memoryStores() });
    await worker.start();
    const client = createClient({ brokers: inject("kafkaBrokers"), topicPrefix: prefix, replyTimeoutMs: 20_000 });
    try {
      const result = await client.runs.wait({ thread_id: "quiet-start", graph_id: "echo", input: { messages: [{ role: "user", content: "hi" }] } });
      expect(result.status).toBe("success");
    } finally {
      await client.close();
      await worker.stop(1000);
    }
    expect(lines.some((l) => l.msg === "worker running" || l.level === 30)).toBe(true);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });
});
