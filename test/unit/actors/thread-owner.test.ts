import { describe, expect, it } from "vitest";
import { collectRun, createRun, createTestRuntime, newId } from "../../helpers/runtime.js";

const human = (content: string) => ({ messages: [{ role: "user", content }] });

describe("thread owners on the commands that create threads", () => {
  it("run.create records its owner on the thread it creates, and another owner's run on it is thread_not_found", async () => {
    const { runtime } = createTestRuntime();
    const threadId = newId("thread");
    const first = await createRun(runtime, { thread_id: threadId, graph_id: "echo", input: human("a"), owner: "alice" });
    expect(first.accepted).toBe(true);
    await collectRun(runtime, first.run_id);
    expect((await runtime.adapters.threads.get(threadId))?.owner).toBe("alice");
    expect((await runtime.adapters.runs.get(first.run_id))?.request.owner).toBe("alice");

    const stranger = await createRun(runtime, { thread_id: threadId, graph_id: "echo", input: human("b"), owner: "bob" });
    expect(stranger).toMatchObject({ accepted: false, code: "thread_not_found" });
    expect(await runtime.adapters.runs.get(stranger.run_id)).toBeUndefined();
    // Without an owner (the bare Kafka path) the run is only recorded, as before owners.
    const bare = await createRun(runtime, { thread_id: threadId, graph_id: "echo", input: human("c") });
    expect(bare.accepted).toBe(true);
    await collectRun(runtime, bare.run_id);
  });

  it("thread.create keeps another owner's thread from changing hands, also under do_nothing", async () => {
    const { runtime } = createTestRuntime();
    const threadId = newId("thread");
    expect(await runtime.submit({ type: "thread.create", thread_id: threadId, owner: "alice" })).toMatchObject({ accepted: true });
    expect(await runtime.submit({ type: "thread.create", thread_id: threadId, owner: "alice", if_exists: "do_nothing" })).toMatchObject({ accepted: true });
    expect(await runtime.submit({ type: "thread.create", thread_id: threadId, owner: "bob", if_exists: "do_nothing" })).toMatchObject({ accepted: false, code: "thread_exists" });
    expect(await runtime.submit({ type: "thread.create", thread_id: threadId, if_exists: "do_nothing" })).toMatchObject({ accepted: true });
    expect((await runtime.adapters.threads.get(threadId))?.owner).toBe("alice");
  });

  it("thread.copy copies only its owner's thread, and the copy is the owner's", async () => {
    const { runtime } = createTestRuntime();
    const threadId = newId("thread");
    const run = await createRun(runtime, { thread_id: threadId, graph_id: "echo", input: human("a"), owner: "alice" });
    await collectRun(runtime, run.run_id);
    const [theirs, mine] = [newId("copy"), newId("copy")];
    expect(await runtime.submit({ type: "thread.copy", thread_id: threadId, new_thread_id: theirs, owner: "bob" })).toMatchObject({ accepted: false, code: "thread_not_found" });
    expect(await runtime.adapters.threads.get(theirs)).toBeUndefined();
    expect(await runtime.submit({ type: "thread.copy", thread_id: threadId, new_thread_id: mine, owner: "alice" })).toMatchObject({ accepted: true });
    expect((await runtime.adapters.threads.get(mine))?.owner).toBe("alice");
  });
});
