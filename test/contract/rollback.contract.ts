import { randomUUID } from "node:crypto";
import { AIMessage, BaseMessage, HumanMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  Annotation,
  Command,
  END,
  MessagesAnnotation,
  MessagesDeltaValue,
  START,
  StateGraph,
  StateSchema,
} from "@langchain/langgraph";
import {
  emptyCheckpoint,
  type BaseCheckpointSaver,
  type Checkpoint,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
} from "@langchain/langgraph-checkpoint";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { RunbusError } from "../../src/errors.js";
import {
  fanOutInterruptGraph,
  parallelInterruptGraph,
  subgraphInterruptGraph,
  twoInterruptGraph,
} from "../fixtures/rollback-graphs.js";
import type { Logger } from "../../src/logger.js";
import {
  capturePreRunCheckpoint,
  restorePreRunCheckpoint,
  type PreRunSnapshot,
} from "../../src/graph/rollback.js";

/**
 * DESIGN §3 rollback, proven case by case against any checkpoint saver: LangGraph's MemorySaver in
 * the unit tests, MongoDBSaver on the real MongoDB-compatible server in the integration tests.
 */
export function rollbackContract(name: string, makeSaver: () => BaseCheckpointSaver | Promise<BaseCheckpointSaver>): void {
  describe(`rollback on ${name}`, () => {
    it("(a) skips, logged, when there is no checkpointer or the snapshot is unavailable", async () => {
      const saver = await makeSaver();
      const thread = newThread();
      expect(await capturePreRunCheckpoint(undefined, thread)).toEqual({
        kind: "unavailable",
        reason: "The graph has no checkpointer.",
      });

      const { logger, warn } = fakeLogger();
      const withoutSaver = await restorePreRunCheckpoint(undefined, thread, { kind: "empty" }, logger);
      expect(withoutSaver).toEqual({ action: "skipped", reason: "The graph has no checkpointer." });
      expect(warn).toHaveBeenCalledTimes(1);

      const run = await putCheckpoint(saver, thread, undefined, { count: 1 });
      const unavailable: PreRunSnapshot = { kind: "unavailable", reason: "no luck" };
      const skipped = await restorePreRunCheckpoint(saver, thread, unavailable, logger);
      expect(skipped).toEqual({ action: "skipped", reason: "no luck" });
      expect(warn).toHaveBeenCalledTimes(2);
      expect(await checkpointIds(saver, thread)).toEqual([run.id]);
    });

    it("(b) a capture whose read fails is unavailable, and restoring it skips and leaves the thread alone", async () => {
      const saver = await makeSaver();
      const thread = newThread();
      const failing = override(saver, {
        getTuple: () => Promise.reject(new Error("server went away")),
      });
      const { logger, warn } = fakeLogger();
      const snapshot = await capturePreRunCheckpoint(failing, thread, logger);
      expect(snapshot).toEqual({
        kind: "unavailable",
        reason: `Reading the latest checkpoint of thread '${thread}' failed: server went away`,
      });
      expect(warn).toHaveBeenCalledTimes(1);

      const run = await putCheckpoint(saver, thread, undefined, { count: 1 });
      const outcome = await restorePreRunCheckpoint(saver, thread, snapshot, logger);
      expect(outcome).toEqual({ action: "skipped", reason: (snapshot as { reason: string }).reason });
      expect(warn).toHaveBeenCalledTimes(2);
      expect((await latest(saver, thread))?.checkpoint.id).toBe(run.id);
    });

    it("captures a deep copy made by the saver's serializer, untouched by later changes to what it read", async () => {
      const saver = await makeSaver();
      const thread = newThread();
      const preRun = await putCheckpoint(saver, thread, undefined, { messages: [new HumanMessage("hello")], count: 1 });
      await saver.putWrites(configOf(thread, preRun.id), [["count", 2]], "task-a");
      // A saver that hands out the same objects every time, as a caching saver might.
      const shared = await latest(saver, thread);
      const caching = override(saver, { getTuple: () => Promise.resolve(shared) });

      const snapshot = await capturePreRunCheckpoint(caching, thread);
      if (snapshot.kind !== "captured" || shared === undefined) throw new Error("expected a captured snapshot");
      shared.checkpoint.channel_values.count = 99;
      (shared.checkpoint.channel_values.messages as BaseMessage[]).push(new HumanMessage("later"));
      shared.pendingWrites?.push(["task-z", "count", 3]);
      shared.checkpoint.channel_versions.count = 42;

      const { checkpoint, pending_writes } = snapshot.captured;
      expect(checkpoint.channel_values).toEqual({ messages: [new HumanMessage("hello")], count: 1 });
      expect((checkpoint.channel_values.messages as unknown[])[0]).toBeInstanceOf(HumanMessage);
      expect(checkpoint.channel_versions.count).not.toBe(42);
      expect(pending_writes).toEqual([["task-a", "count", 2]]);
    });

    it("(c) a thread that had no checkpoint before the run loses the run's checkpoints", async () => {
      const saver = await makeSaver();
      const thread = newThread();
      const bystander = newThread();
      await putCheckpoint(saver, bystander, undefined, { count: 7 });

      const snapshot = await capturePreRunCheckpoint(saver, thread);
      expect(snapshot).toEqual({ kind: "empty" });

      const first = await putCheckpoint(saver, thread, undefined, { count: 1 });
      const second = await putCheckpoint(saver, thread, first.id, { count: 2 });
      await saver.putWrites(configOf(thread, second.id), [["count", 3]], "run-task");
      expect(await checkpointIds(saver, thread)).toHaveLength(2);

      expect(await restorePreRunCheckpoint(saver, thread, snapshot)).toEqual({ action: "deleted" });
      expect(await checkpointIds(saver, thread)).toEqual([]);
      expect(await latest(saver, thread)).toBeUndefined();
      expect((await latest(saver, bystander))?.checkpoint.channel_values).toEqual({ count: 7 });
    });

    it("(d) a captured checkpoint comes back as the latest, with its values, messages and only its pending writes", async () => {
      const saver = await makeSaver();
      const thread = newThread();
      const grandparent = await putCheckpoint(saver, thread, undefined, { count: 0 });
      const preRunValues = {
        messages: [new HumanMessage({ content: "hello", id: "m1" }), new AIMessage({ content: "hi there", id: "m2" })],
        count: 1,
        nested: { tags: ["a", "b"], done: false },
      };
      const preRun = await putCheckpoint(saver, thread, grandparent.id, preRunValues);
      await saver.putWrites(configOf(thread, preRun.id), [["count", 2], ["nested", { tags: [], done: true }]], "task-a");
      await saver.putWrites(configOf(thread, preRun.id), [["messages", [new AIMessage({ content: "pending", id: "m3" })]]], "task-b");
      const preRunTuple = await latest(saver, thread);
      const preRunWrites = preRunTuple?.pendingWrites;
      expect(preRunWrites).toHaveLength(3);

      const snapshot = await capturePreRunCheckpoint(saver, thread);
      if (snapshot.kind !== "captured") throw new Error(`expected a captured snapshot, got ${snapshot.kind}`);
      expect(snapshot.captured.checkpoint.id).toBe(preRun.id);
      expect(snapshot.captured.parent_checkpoint_id).toBe(grandparent.id);

      // The cancelled run: its first step's writes land on the pre-run checkpoint, then two more checkpoints.
      await saver.putWrites(configOf(thread, preRun.id), [["count", 99]], "run-task-1");
      const runFirst = await putCheckpoint(saver, thread, preRun.id, { messages: [new HumanMessage("other")], count: 5 });
      const runLast = await putCheckpoint(saver, thread, runFirst.id, { count: 6, nested: { tags: ["z"], done: true } });
      await saver.putWrites(configOf(thread, runLast.id), [["count", 7]], "run-task-2");

      const outcome = await restorePreRunCheckpoint(saver, thread, snapshot);
      if (outcome.action !== "restored") throw new Error(`expected a restore, got ${outcome.action}`);
      const restored = await latest(saver, thread);
      expect(restored?.checkpoint.id).toBe(outcome.checkpointId);
      for (const earlier of [grandparent.id, preRun.id, runFirst.id, runLast.id]) {
        expect(outcome.checkpointId).not.toBe(earlier);
        expect(outcome.checkpointId > earlier).toBe(true);
      }
      expect((restored?.checkpoint.ts ?? "") >= runLast.ts).toBe(true);
      expect(restored?.checkpoint.channel_values).toEqual(preRunValues);
      expect(restored?.checkpoint.channel_versions).toEqual(preRunTuple?.checkpoint.channel_versions);
      expect(restored?.checkpoint.versions_seen).toEqual(preRunTuple?.checkpoint.versions_seen);
      expect(restored?.metadata).toEqual(preRunTuple?.metadata);
      const messages = restored?.checkpoint.channel_values.messages as unknown[];
      expect(messages[0]).toBeInstanceOf(HumanMessage);
      expect(messages[1]).toBeInstanceOf(AIMessage);
      expect(restored?.pendingWrites).toEqual(preRunWrites);
      expect(restored?.pendingWrites).toEqual([
        ["task-a", "count", 2],
        ["task-a", "nested", { tags: [], done: true }],
        ["task-b", "messages", [new AIMessage({ content: "pending", id: "m3" })]],
      ]);
      const pendingMessages = restored?.pendingWrites?.[2]?.[2] as unknown[];
      expect(pendingMessages[0]).toBeInstanceOf(BaseMessage);
      // See rollback.ts: the restored copy hangs off the captured checkpoint's parent.
      expect(restored?.parentConfig?.configurable?.checkpoint_id).toBe(grandparent.id);
    });

    it("(d) restoring the same snapshot twice is safe and leaves the pre-run state once", async () => {
      const saver = await makeSaver();
      const thread = newThread();
      const preRun = await putCheckpoint(saver, thread, undefined, { count: 1 });
      await saver.putWrites(configOf(thread, preRun.id), [["count", 2]], "task-a");
      const snapshot = await capturePreRunCheckpoint(saver, thread);
      await putCheckpoint(saver, thread, preRun.id, { count: 5 });

      const first = await restorePreRunCheckpoint(saver, thread, snapshot);
      const second = await restorePreRunCheckpoint(saver, thread, snapshot);
      if (first.action !== "restored" || second.action !== "restored") throw new Error("expected two restores");
      expect(second.checkpointId > first.checkpointId).toBe(true);
      const restored = await latest(saver, thread);
      expect(restored?.checkpoint.id).toBe(second.checkpointId);
      expect(restored?.checkpoint.channel_values).toEqual({ count: 1 });
      expect(restored?.pendingWrites).toEqual([["task-a", "count", 2]]);
    });

    it("(e) a malformed pending write fails the restore before anything is written", async () => {
      const saver = await makeSaver();
      const thread = newThread();
      const preRun = await putCheckpoint(saver, thread, undefined, { count: 1 });
      const snapshot = await capturePreRunCheckpoint(saver, thread);
      if (snapshot.kind !== "captured") throw new Error(`expected a captured snapshot, got ${snapshot.kind}`);
      const runLast = await putCheckpoint(saver, thread, preRun.id, { count: 5 });
      const before = await checkpointIds(saver, thread);

      const cases: Array<[unknown, string]> = [
        [["task-a", "count"], "expected a [taskId, channel, value] tuple, got an array of length 2"],
        [["task-a", 7, "value"], "its channel is a number, not a string"],
        [[42, "count", 1], "its task id is a number, not a string"],
        ["count", "expected a [taskId, channel, value] tuple, got a string"],
      ];
      for (const [bad, why] of cases) {
        const pending_writes = [["task-a", "count", 2], bad] as typeof snapshot.captured.pending_writes;
        const malformed: PreRunSnapshot = { kind: "captured", captured: { ...snapshot.captured, pending_writes } };
        const error = await restorePreRunCheckpoint(saver, thread, malformed).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RunbusError);
        expect((error as RunbusError).code).toBe("rollback_failed");
        expect((error as RunbusError).message).toBe(
          `Rollback of thread '${thread}' failed: pending write 1 is malformed: ${why}.`,
        );
      }
      expect(await checkpointIds(saver, thread)).toEqual(before);
      const after = await latest(saver, thread);
      expect(after?.checkpoint.id).toBe(runLast.id);
      expect(after?.pendingWrites).toEqual([]);
    });

    it("(f) fails when the checkpointer returns no checkpoint_id for the restored checkpoint", async () => {
      const saver = await makeSaver();
      const thread = newThread();
      const preRun = await putCheckpoint(saver, thread, undefined, { count: 1 });
      const snapshot = await capturePreRunCheckpoint(saver, thread);
      await putCheckpoint(saver, thread, preRun.id, { count: 5 });
      const putWrites = vi.fn(saver.putWrites.bind(saver));
      const forgetful = override(saver, {
        put: async (...args: Parameters<BaseCheckpointSaver["put"]>) => {
          const config = await saver.put(...args);
          return { configurable: { thread_id: config.configurable?.thread_id } };
        },
        putWrites,
      });

      const error = await restorePreRunCheckpoint(forgetful, thread, snapshot).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RunbusError);
      expect((error as RunbusError).code).toBe("rollback_failed");
      expect((error as RunbusError).message).toBe(
        `Rollback of thread '${thread}' failed: the checkpointer returned no checkpoint_id for the restored checkpoint.`,
      );
      expect(putWrites).not.toHaveBeenCalled();
    });

    it("(g) fails without writing when the cancelled run's checkpoint id sorts after a fresh one", async () => {
      const saver = await makeSaver();
      const thread = newThread();
      const preRun = await putCheckpoint(saver, thread, undefined, { count: 1 });
      const snapshot = await capturePreRunCheckpoint(saver, thread);
      // As if the run had been written by a host whose clock runs far ahead.
      const ahead = { ...emptyCheckpoint(), id: "ffffffff-ffff-6fff-bfff-ffffffffffff", channel_values: { count: 5 }, channel_versions: { count: 2 } };
      await saver.put(configOf(thread, preRun.id), ahead, metadata(0), { count: 2 });

      const error = await restorePreRunCheckpoint(saver, thread, snapshot).catch((e: unknown) => e);
      expect((error as RunbusError).code).toBe("rollback_failed");
      expect((error as RunbusError).message).toMatch(/does not sort after the latest checkpoint id ffffffff-/);
      expect(await checkpointIds(saver, thread)).toEqual([ahead.id, preRun.id]);
    });

    it("restores a real graph's state, and the graph continues from it", async () => {
      const saver = await makeSaver();
      const State = Annotation.Root({
        ...MessagesAnnotation.spec,
        count: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
      });
      const graph = new StateGraph(State)
        .addNode("reply", (state) => ({ messages: [new AIMessage(`reply to ${lastContent(state.messages)}`)] }))
        .addNode("tally", () => ({ count: 1 }))
        .addEdge(START, "reply")
        .addEdge("reply", "tally")
        .addEdge("tally", END)
        .compile({ checkpointer: saver });
      const thread = newThread();
      const config = { configurable: { thread_id: thread } };

      await graph.invoke({ messages: [new HumanMessage("first")] }, config);
      const firstRun = (await graph.getState(config)).values;
      expect(contents(firstRun.messages)).toEqual(["first", "reply to first"]);
      expect(firstRun.count).toBe(1);

      const snapshot = await capturePreRunCheckpoint(saver, thread);
      await graph.invoke({ messages: [new HumanMessage("second")] }, config);
      expect((await graph.getState(config)).values.count).toBe(2);

      expect((await restorePreRunCheckpoint(saver, thread, snapshot)).action).toBe("restored");
      const restored = (await graph.getState(config)).values;
      expect(contents(restored.messages)).toEqual(["first", "reply to first"]);
      expect(restored.messages.every((m: unknown) => m instanceof BaseMessage)).toBe(true);
      expect(restored.count).toBe(1);

      await graph.invoke({ messages: [new HumanMessage("third")] }, config);
      const continued = (await graph.getState(config)).values;
      expect(contents(continued.messages)).toEqual(["first", "reply to first", "third", "reply to third"]);
      expect(continued.count).toBe(2);
    });

    it("restores a graph whose messages live in a DeltaChannel, rebuilt from ancestor writes", async () => {
      const saver = await makeSaver();
      const State = new StateSchema({ messages: MessagesDeltaValue, count: z.number().default(0) });
      const graph = new StateGraph(State)
        .addNode("reply", (state) => ({
          messages: [new AIMessage(`reply to ${lastContent(state.messages)}`)],
          count: state.count + 1,
        }))
        .addEdge(START, "reply")
        .addEdge("reply", END)
        .compile({ checkpointer: saver });
      const thread = newThread();
      const config = { configurable: { thread_id: thread } };

      await graph.invoke({ messages: [new HumanMessage("first")] }, config);
      const snapshot = await capturePreRunCheckpoint(saver, thread);
      if (snapshot.kind !== "captured") throw new Error(`expected a captured snapshot, got ${snapshot.kind}`);
      // The messages are not stored in the checkpoint itself: only ancestor writes rebuild them.
      expect(snapshot.captured.checkpoint.channel_values).not.toHaveProperty("messages");

      await graph.invoke({ messages: [new HumanMessage("second")] }, config);
      expect(contents((await graph.getState(config)).values.messages)).toHaveLength(4);

      await restorePreRunCheckpoint(saver, thread, snapshot);
      const restored = (await graph.getState(config)).values;
      expect(contents(restored.messages)).toEqual(["first", "reply to first"]);
      expect(restored.count).toBe(1);

      await graph.invoke({ messages: [new HumanMessage("third")] }, config);
      expect(contents((await graph.getState(config)).values.messages)).toEqual([
        "first",
        "reply to first",
        "third",
        "reply to third",
      ]);
    });

    it("restores a thread paused on an interrupt beside a finished node: same interrupt, nothing runs twice", async () => {
      const saver = await makeSaver();
      const { graph, runs } = parallelInterruptGraph(saver);
      const thread = newThread();
      const config = { configurable: { thread_id: thread } };

      // Run 1: a finishes, b pauses.
      await graph.invoke({ log: ["start"] }, config);
      const paused = await graph.getState(config);
      expect(paused.next).toEqual(["b"]);
      const [asked] = interruptsOf(paused);
      expect(asked).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), value: "approve?" });
      expect(runs).toEqual({ a: 1, b: 1, bDone: 0 });
      const snapshot = await capturePreRunCheckpoint(saver, thread);
      if (snapshot.kind !== "captured") throw new Error(`expected a captured snapshot, got ${snapshot.kind}`);

      // Run 2 answers and is rolled back.
      await graph.invoke(new Command({ resume: "no" }), config);
      expect((await graph.getState(config)).values.log).toEqual(["start", "a", "b:no"]);
      const { logger, warn } = fakeLogger();
      const outcome = await restorePreRunCheckpoint(saver, thread, snapshot, logger, graph);
      if (outcome.action !== "restored") throw new Error(`expected a restore, got ${outcome.action}`);
      expect(warn).not.toHaveBeenCalled();

      const restored = await graph.getState(config);
      expect(restored.config.configurable?.checkpoint_id).toBe(outcome.checkpointId);
      expect(restored.values).toEqual({ log: ["start", "a"] });
      expect(restored.next).toEqual(["b"]);
      expect(restored.tasks.map(({ name, path }) => [name, path])).toEqual(paused.tasks.map(({ name, path }) => [name, path]));
      // The same interrupt, under the id LangGraph derives for it now: interrupt ids hash the task's
      // namespace, which holds the task id, which hashes the fresh checkpoint id.
      const [pending] = interruptsOf(restored);
      expect(pending).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), value: "approve?" });
      expect(pending?.id).not.toBe(asked?.id);
      // Every re-attached write is under a task of the restored checkpoint.
      const taskIds = new Set(restored.tasks.map((task) => task.id));
      expect((await latest(saver, thread))?.pendingWrites?.every(([taskId]) => taskIds.has(taskId))).toBe(true);

      // A resume naming the pre-rollback id reaches no interrupt: b pauses again, a stays done.
      await graph.invoke(new Command({ resume: { [asked?.id ?? ""]: "stale" } }), config);
      const stillPaused = await graph.getState(config);
      expect(stillPaused.next).toEqual(["b"]);
      expect(interruptsOf(stillPaused)).toEqual([pending]);

      await graph.invoke(new Command({ resume: { [pending?.id ?? ""]: "yes" } }), config);
      const done = await graph.getState(config);
      expect(done.next).toEqual([]);
      expect(done.values.log).toEqual(["start", "a", "b:yes"]);
      expect(runs.a).toBe(1);
      // b: paused in run 1, completed in the rolled-back run 2, paused on the stale resume, completed.
      expect(runs).toEqual({ a: 1, b: 4, bDone: 2 });
    });

    it("without the graph, re-attaches the writes under their captured task ids, as before", async () => {
      const saver = await makeSaver();
      const { graph, runs } = parallelInterruptGraph(saver);
      const thread = newThread();
      const config = { configurable: { thread_id: thread } };
      await graph.invoke({ log: ["start"] }, config);
      const snapshot = await capturePreRunCheckpoint(saver, thread);
      if (snapshot.kind !== "captured") throw new Error(`expected a captured snapshot, got ${snapshot.kind}`);
      await graph.invoke(new Command({ resume: "no" }), config);

      await restorePreRunCheckpoint(saver, thread, snapshot);
      expect(sortWrites((await latest(saver, thread))?.pendingWrites)).toEqual(sortWrites(snapshot.captured.pending_writes));
      // The writes match no task under the fresh checkpoint id: a's output is not applied and a is due
      // again, and the interrupt is not shown.
      const restored = await graph.getState(config);
      expect(restored.values.log).toEqual(["start"]);
      expect(restored.next).toEqual(["a", "b"]);
      expect(interruptsOf(restored)).toEqual([]);
      await graph.invoke(new Command({ resume: "yes" }), config);
      expect((await graph.getState(config)).values.log).toEqual(["start", "a", "b:yes"]);
      expect(runs.a).toBe(2);
    });

    it("moves an interrupt already answered once, and a resume stored under an interrupt id, to the restored ids", async () => {
      const saver = await makeSaver();
      const { graph, runs } = twoInterruptGraph(saver);
      const thread = newThread();
      const config = { configurable: { thread_id: thread } };
      await graph.invoke({ log: ["start"] }, config);
      const [first] = interruptsOf(await graph.getState(config));
      // Answered by id: LangGraph stores that resume under the interrupt id, and b asks again.
      await graph.invoke(new Command({ resume: { [first?.id ?? ""]: "x" } }), config);
      const paused = await graph.getState(config);
      const [second] = interruptsOf(paused);
      expect(second?.value).toBe("second?");
      const snapshot = await capturePreRunCheckpoint(saver, thread);
      if (snapshot.kind !== "captured") throw new Error(`expected a captured snapshot, got ${snapshot.kind}`);
      expect(snapshot.captured.pending_writes.map(([taskId]) => taskId)).toContain(first?.id);

      await graph.invoke(new Command({ resume: { [second?.id ?? ""]: "no" } }), config);
      const { logger, warn } = fakeLogger();
      await restorePreRunCheckpoint(saver, thread, snapshot, logger, graph);
      expect(warn).not.toHaveBeenCalled();
      const restored = await graph.getState(config);
      expect(restored.values.log).toEqual(["start", "a"]);
      expect(restored.next).toEqual(paused.next);
      const [pending] = interruptsOf(restored);
      expect(pending?.value).toBe("second?");
      expect(pending?.id).not.toBe(second?.id);
      const capturedIds = new Set(snapshot.captured.pending_writes.map(([taskId]) => taskId));
      expect((await latest(saver, thread))?.pendingWrites?.filter(([taskId]) => capturedIds.has(taskId))).toEqual([]);

      await graph.invoke(new Command({ resume: { [pending?.id ?? ""]: "y" } }), config);
      const done = await graph.getState(config);
      expect(done.next).toEqual([]);
      // The first answer came back with b's re-keyed writes.
      expect(done.values.log).toEqual(["start", "a", "b:x,y"]);
      expect(runs.a).toBe(1);
    });

    it("moves Send (PUSH) tasks by their index: the finished ones stay done", async () => {
      const saver = await makeSaver();
      const { graph, runs } = fanOutInterruptGraph(saver);
      const thread = newThread();
      const config = { configurable: { thread_id: thread } };
      await graph.invoke({ log: ["start"] }, config);
      const paused = await graph.getState(config);
      expect(paused.next).toEqual(["worker"]);
      const snapshot = await capturePreRunCheckpoint(saver, thread);
      await graph.invoke(new Command({ resume: "no" }), config);

      const { logger, warn } = fakeLogger();
      await restorePreRunCheckpoint(saver, thread, snapshot, logger, graph);
      expect(warn).not.toHaveBeenCalled();
      const restored = await graph.getState(config);
      expect(restored.values.log).toEqual(["start", "w0", "w2"]);
      expect(restored.next).toEqual(["worker"]);
      expect(restored.tasks.map((task) => [task.path, task.interrupts.map((i) => i.value)])).toEqual([
        [["__pregel_push", 0, false], []],
        [["__pregel_push", 1, false], ["item 1?"]],
        [["__pregel_push", 2, false], []],
      ]);

      await graph.invoke(new Command({ resume: "yes" }), config);
      expect((await graph.getState(config)).values.log).toEqual(["start", "w0", "w1:yes", "w2"]);
      expect(runs).toEqual([1, 3, 1]);
    });

    it("keeps, and logs, the ids of writes no restored task matches, and all of them when the graph cannot plan", async () => {
      const saver = await makeSaver();
      const { graph } = parallelInterruptGraph(saver);
      const thread = newThread();
      const config = { configurable: { thread_id: thread } };
      await graph.invoke({ log: ["start"] }, config);
      const snapshot = await capturePreRunCheckpoint(saver, thread);
      if (snapshot.kind !== "captured") throw new Error(`expected a captured snapshot, got ${snapshot.kind}`);
      await graph.invoke(new Command({ resume: "no" }), config);

      const stray: CheckpointPendingWrite = ["task-unknown", "log", ["stray"]];
      const withStray: PreRunSnapshot = {
        kind: "captured",
        captured: { ...snapshot.captured, pending_writes: [...snapshot.captured.pending_writes, stray] },
      };
      const { logger, warn } = fakeLogger();
      await restorePreRunCheckpoint(saver, thread, withStray, logger, graph);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]?.[0]).toEqual({ threadId: thread, taskIds: ["task-unknown"] });
      const writes = (await latest(saver, thread))?.pendingWrites ?? [];
      expect(writes).toContainEqual(stray);
      expect(writes).toHaveLength(3);
      const restored = await graph.getState(config);
      expect(restored.next).toEqual(["b"]);
      expect(interruptsOf(restored).map((i) => i.value)).toEqual(["approve?"]);

      const blind = { getState: () => Promise.reject(new Error("no plan")) };
      const second = fakeLogger();
      await restorePreRunCheckpoint(saver, thread, snapshot, second.logger, blind);
      expect(second.warn).toHaveBeenCalledTimes(1);
      expect(String(second.warn.mock.calls[0]?.[1])).toContain("planning the restored checkpoint's tasks failed (no plan)");
      expect(sortWrites((await latest(saver, thread))?.pendingWrites)).toEqual(sortWrites(snapshot.captured.pending_writes));
    });

    it("moves a task whose interrupt came from a subgraph, keeping and logging the interrupt id it cannot derive", async () => {
      const saver = await makeSaver();
      const { graph, runs } = subgraphInterruptGraph(saver);
      const thread = newThread();
      const config = { configurable: { thread_id: thread } };
      await graph.invoke({ log: ["start"] }, config);
      const [asked] = interruptsOf(await graph.getState(config));
      const snapshot = await capturePreRunCheckpoint(saver, thread);
      await graph.invoke(new Command({ resume: "no" }), config);

      const { logger, warn } = fakeLogger();
      await restorePreRunCheckpoint(saver, thread, snapshot, logger, graph);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]?.[0]).toEqual({ threadId: thread, interruptIds: [asked?.id] });
      const restored = await graph.getState(config);
      expect(restored.values.log).toEqual(["start", "a"]);
      expect(restored.next).toEqual(["b"]);
      expect(interruptsOf(restored)).toEqual([asked]);

      // The subgraph's own checkpoints hang off b's old task id, so it starts over: inner1 runs
      // again and the answer goes to an interrupt raised anew. a stays done.
      await graph.invoke(new Command({ resume: "yes" }), config);
      const after = await graph.getState(config);
      expect(after.next).toEqual(["b"]);
      expect(interruptsOf(after).map((i) => i.value)).toEqual(["sub?"]);
      expect(runs.a).toBe(1);
      expect(runs.inner1).toBe(2);
    });
  });
}

function newThread(): string {
  return `thread-${randomUUID()}`;
}

function configOf(threadId: string, checkpointId?: string): RunnableConfig {
  return { configurable: { thread_id: threadId, checkpoint_ns: "", ...(checkpointId ? { checkpoint_id: checkpointId } : {}) } };
}

function metadata(step: number): CheckpointMetadata {
  return { source: "loop", step, parents: {} };
}

/** Writes a checkpoint the way a run would: every channel at a version above its parent's. */
async function putCheckpoint(
  saver: BaseCheckpointSaver,
  threadId: string,
  parentId: string | undefined,
  values: Record<string, unknown>,
): Promise<Checkpoint> {
  const parent = parentId === undefined ? undefined : await saver.getTuple(configOf(threadId, parentId));
  const step = ((parent?.metadata?.step ?? -2) as number) + 1;
  const versions = Object.fromEntries(Object.keys(values).map((channel) => [channel, step + 2]));
  const checkpoint: Checkpoint = {
    ...emptyCheckpoint(),
    channel_values: values,
    channel_versions: versions,
    versions_seen: { node: versions },
  };
  await saver.put(configOf(threadId, parentId), checkpoint, metadata(step), versions);
  return checkpoint;
}

function latest(saver: BaseCheckpointSaver, threadId: string): Promise<CheckpointTuple | undefined> {
  return saver.getTuple(configOf(threadId));
}

async function checkpointIds(saver: BaseCheckpointSaver, threadId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const tuple of saver.list({ configurable: { thread_id: threadId } })) ids.push(tuple.checkpoint.id);
  return ids;
}

/** The saver with some methods replaced; the rest still run on the real saver. */
function override(saver: BaseCheckpointSaver, methods: Partial<BaseCheckpointSaver>): BaseCheckpointSaver {
  return new Proxy(saver, {
    get(target, property, receiver) {
      if (Object.prototype.hasOwnProperty.call(methods, property)) return methods[property as keyof BaseCheckpointSaver];
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function fakeLogger(): { logger: Logger; warn: ReturnType<typeof vi.fn> } {
  const warn = vi.fn();
  const logger = { warn, info: vi.fn(), error: vi.fn(), debug: vi.fn() } as unknown as Logger;
  return { logger, warn };
}

function interruptsOf(state: { tasks: ReadonlyArray<{ interrupts: ReadonlyArray<{ id?: string; value?: unknown }> }> }) {
  return state.tasks.flatMap((task) => task.interrupts);
}

/** Pending writes in task-id order: savers order them by a task path getTuple does not return. */
function sortWrites(writes: readonly CheckpointPendingWrite[] | undefined): CheckpointPendingWrite[] {
  return [...(writes ?? [])].sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));
}

function contents(messages: BaseMessage[]): unknown[] {
  return messages.map((message) => message.content);
}

function lastContent(messages: BaseMessage[]): unknown {
  return messages.at(-1)?.content;
}
