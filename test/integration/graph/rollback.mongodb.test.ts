import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { MongoDBSaver } from "@langchain/langgraph-checkpoint-mongodb";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { rollbackContract } from "../../contract/rollback.contract.js";
import { parallelInterruptGraph } from "../../fixtures/rollback-graphs.js";
import { cancelRun, collectRun, createRun, createTestRuntime, newId } from "../../helpers/runtime.js";

const client = new MongoClient(inject("mongodbUri"));
const dbName = `runbus_rollback_${randomUUID().replaceAll("-", "")}`;
let saver: MongoDBSaver;

beforeAll(async () => {
  await client.connect();
  saver = new MongoDBSaver({ client, dbName });
  expect(await saver.setup()).toEqual([]);
});
afterAll(async () => {
  await client.db(dbName).dropDatabase();
  await client.close();
});

// Every case uses its own thread, so one saver on one database serves them all.
rollbackContract("MongoDBSaver", () => saver);

describe("rollback of a resume, through the runtime, on MongoDBSaver", () => {
  it("leaves the thread paused on the same interrupt, and the next resume runs only the paused node", async () => {
    let answered: () => void = () => {};
    const held = new Promise<void>((resolve) => (answered = resolve));
    let runs: ReturnType<typeof parallelInterruptGraph>["runs"] | undefined;
    const { runtime } = createTestRuntime({
      checkpointer: saver,
      graphs: {
        pair: ({ checkpointer }) => {
          const built = parallelInterruptGraph(checkpointer, async (answer, signal) => {
            if (answer !== "hold") return;
            answered();
            await sleep(60_000, undefined, { signal });
          });
          runs = built.runs;
          return built.graph;
        },
      },
    });
    // Reads the thread as a client would, on the unguarded saver.
    const reader = parallelInterruptGraph(saver).graph;
    const threadId = newId("thread");
    const config = { configurable: { thread_id: threadId } };
    try {
      const first = await createRun(runtime, { thread_id: threadId, graph_id: "pair", input: { log: ["start"] } });
      const asked = { id: expect.stringMatching(/^[0-9a-f]{32}$/), value: "approve?" };
      expect((await collectRun(runtime, first.run_id)).at(-1)?.data).toEqual({ status: "success", interrupts: [asked] });
      const paused = await reader.getState(config);
      expect(paused.next).toEqual(["b"]);
      expect(runs).toEqual({ a: 1, b: 1, bDone: 0 });

      const resumed = await createRun(runtime, { thread_id: threadId, command: { resume: "hold" } });
      await held;
      await cancelRun(runtime, threadId, resumed.run_id, "rollback");
      expect((await collectRun(runtime, resumed.run_id)).at(-1)?.data).toEqual({
        status: "error",
        error: { name: "RunRolledBack", message: "Rolled back by user" },
      });

      const restored = await reader.getState(config);
      expect(restored.values).toEqual({ log: ["start", "a"] });
      expect(restored.next).toEqual(["b"]);
      const interrupts = restored.tasks.flatMap((task) => task.interrupts);
      expect(interrupts).toEqual([asked]);

      // runbus refuses a resume of a thread with no pending interrupt, so this also proves it is shown.
      const answer = await createRun(runtime, { thread_id: threadId, command: { resume: { [interrupts[0]?.id ?? ""]: "yes" } } });
      expect(answer).toMatchObject({ accepted: true });
      expect((await collectRun(runtime, answer.run_id)).at(-1)?.data).toEqual({ status: "success" });
      const done = await reader.getState(config);
      expect(done.next).toEqual([]);
      expect(done.values).toEqual({ log: ["start", "a", "b:yes"] });
      expect(runs).toEqual({ a: 1, b: 3, bDone: 1 });
    } finally {
      await runtime.supervisor.drain(0);
    }
  });
});
