import { MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/logger.js";
import { createEmbeddedRuntime } from "../../src/runtime.js";
import { Worker, memoryWorkerStores, type WorkerParts } from "../../src/worker.js";
import { lifecycleGraphs } from "../helpers/runtime.js";

/** Never settles: a kafkajs disconnect or a driver close waiting on a broker or database that is gone. */
const hang = (): Promise<never> => new Promise<never>(() => undefined);
const done = async (): Promise<void> => undefined;

function partsThatHangOnClose(): WorkerParts {
  return {
    admin: { connect: done, disconnect: hang },
    topicAdmin: { ensureBaseTopics: done },
    producer: { connect: done, close: hang },
    commands: { start: done, stop: hang },
    control: { start: done, stop: hang },
    janitor: { start: () => undefined, stop: () => undefined },
    leases: { start: () => undefined, stop: () => undefined },
    stores: { ...memoryWorkerStores(), close: hang },
    logger: silentLogger(),
  };
}

describe("Worker.stop", () => {
  it("lets an idle worker exit in under 2 s when every client it closes hangs (broker and database gone)", async () => {
    const config = loadConfig({}, { kafka: { brokers: ["127.0.0.1:1"] }, leaseMs: 6000, shutdownGraceMs: 30_000 });
    const runtime = createEmbeddedRuntime({ graphs: lifecycleGraphs(), checkpointer: new MemorySaver(), workerId: "idle" });
    const worker = new Worker(config, partsThatHangOnClose(), runtime, "idle");
    await worker.start();
    expect(worker.state).toBe("running");

    const began = Date.now();
    await worker.stop();
    expect(Date.now() - began).toBeLessThan(2000);
    expect(worker.state).toBe("stopped");
  });
});
