import { describe, expect, it } from "vitest";
import {
  SimulatedClock,
  createActor,
  createMachine,
  fromPromise,
  toPromise,
  waitFor,
  type EventObject,
  type SnapshotFrom,
  type StateValue,
} from "xstate";
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths, getSimplePaths, type StatePath } from "xstate/graph";
import type { RunStatus } from "../../src/protocol/run-status.js";
import {
  RUN_INITIAL_STATUS,
  RUN_TRANSITIONS,
  deriveRunTransitions,
  isComplete,
  validateRunPath,
  type RunTransition,
} from "../../src/machines/run-path.js";
import {
  ROLLED_BACK,
  causeOf,
  runMachine,
  type PreRunCapture,
  type RunMachineEvent,
  type RunMachineInput,
  type RunMachineOutput,
  type StreamOutput,
} from "../../src/machines/run.machine.js";

type RunSnapshot = SnapshotFrom<typeof runMachine>;
type RunPath = StatePath<RunSnapshot, RunMachineEvent>;

const INPUT: RunMachineInput = { runId: "run-1", threadId: "thread-1", timeoutMs: 1000 };

/**
 * xstate/graph types events as the machine's declared ones, but the invoked actors' done/error
 * events and the delayed deadline event drive the machine just the same.
 */
function internal(event: EventObject & Record<string, unknown>): RunMachineEvent {
  return event as unknown as RunMachineEvent;
}

const START: RunMachineEvent = { type: "START" };
const CANCEL_INTERRUPT: RunMachineEvent = { type: "CANCEL", action: "interrupt" };
const CANCEL_ROLLBACK: RunMachineEvent = { type: "CANCEL", action: "rollback" };
const LEASE_LOST: RunMachineEvent = { type: "LEASE_LOST" };
const CAPTURED = { kind: "captured", checkpointId: "cp-0" };
const CAPTURE_DONE = internal({ type: "xstate.done.actor.capture", output: CAPTURED });
const CAPTURE_FAILED = internal({ type: "xstate.error.actor.capture", error: new Error("mongo down") });
const STREAM_DONE = internal({ type: "xstate.done.actor.stream", output: { interrupts: [] } });
const STREAM_FAILED = internal({ type: "xstate.error.actor.stream", error: new Error("boom") });
const RESTORE_DONE = internal({ type: "xstate.done.actor.restore" });
const RESTORE_FAILED = internal({ type: "xstate.error.actor.restore", error: new Error("saver returned no checkpoint_id") });
/** xstate names a delayed transition's event `xstate.after.<delay>.<state id>`. */
const DEADLINE = internal({ type: "xstate.after.runDeadline.run.running" });

/**
 * The events a live run can receive in `snapshot`: commands at any time; an invoked actor's
 * done/error only while that actor is alive; the deadline only while its timer is (in `running`).
 * Feeding an actor's error event without the actor would crash the machine, which no run can do.
 */
function eventsFor(snapshot: RunSnapshot): RunMachineEvent[] {
  const events = [START, CANCEL_INTERRUPT, CANCEL_ROLLBACK, LEASE_LOST];
  const alive = (id: string) => Object.hasOwn(snapshot.children, id);
  if (alive("capture")) events.push(CAPTURE_DONE, CAPTURE_FAILED);
  if (alive("stream")) events.push(STREAM_DONE, STREAM_FAILED);
  if (alive("restore")) events.push(RESTORE_DONE, RESTORE_FAILED);
  if (snapshot.matches("running")) events.push(DEADLINE);
  return events;
}

/** The state a snapshot is in, as a dotted path to its leaf: `pending`, `running.streaming`. */
function leafOf(value: StateValue): string {
  if (typeof value === "string") return value;
  return Object.entries(value)
    .map(([key, child]) => (child === undefined ? key : `${key}.${leafOf(child)}`))
    .join(",");
}

function topLevelOf(snapshot: RunSnapshot): string {
  return leafOf(snapshot.value).split(".")[0] as string;
}

interface Edge {
  from: RunSnapshot;
  event: RunMachineEvent;
  to: RunSnapshot;
}

/** Path steps hold the state each event led to; the first step is the initial state. */
function edgesOf(paths: readonly RunPath[]): Edge[] {
  const edges: Edge[] = [];
  for (const path of paths) {
    let from = path.steps[0]?.state;
    for (const step of path.steps.slice(1)) {
      if (from !== undefined) edges.push({ from, event: step.event, to: step.state });
      from = step.state;
    }
  }
  return edges;
}

function describeEvent(event: RunMachineEvent): string {
  return event.type === "CANCEL" ? `CANCEL ${event.action}` : event.type;
}

/** The statuses a path goes through, as the audit topic records them (internal states dropped). */
function statusPathOf(path: RunPath): string[] {
  const statuses: string[] = [];
  for (const step of path.steps) {
    const status = topLevelOf(step.state);
    if (status === "fenced" || statuses.at(-1) === status) continue;
    statuses.push(status);
  }
  return statuses;
}

const shortestPaths = getShortestPaths(runMachine, { input: INPUT, events: eventsFor });
const simplePaths = getSimplePaths(runMachine, { input: INPUT, events: eventsFor });
const simpleEdges = edgesOf(simplePaths);
const adjacency = adjacencyMapToArray(getAdjacencyMap(runMachine, { input: INPUT, events: eventsFor }));

/** DESIGN.md §2, written out by hand: a drift of the machine or of this table fails the test. */
const DESIGN_TABLE: readonly RunTransition[] = [
  "pending->running",
  "pending->interrupted",
  "pending->error",
  "running->success",
  "running->error",
  "running->interrupted",
  "running->rolling_back",
  "rolling_back->error",
  "running->timeout",
];

describe("run machine paths (xstate/graph)", () => {
  it("reaches every state", () => {
    const reached = new Set(shortestPaths.map((path) => leafOf(path.state.value)));
    expect([...reached].sort()).toEqual(
      [
        "pending",
        "running.capturing",
        "running.streaming",
        "rolling_back",
        "success",
        "interrupted",
        "error",
        "timeout",
        "fenced",
      ].sort(),
    );
  });

  it("never crashes on an event a live run can receive", () => {
    const statuses = new Set(adjacency.map(({ nextState }) => nextState.status));
    expect([...statuses].sort()).toEqual(["active", "done"]);
  });

  const rows: Array<{
    from: string;
    event: RunMachineEvent;
    to: string;
    check?: (to: RunSnapshot) => void;
  }> = [
    { from: "pending", event: START, to: "running.capturing" },
    { from: "pending", event: CANCEL_INTERRUPT, to: "interrupted", check: (s) => expect(s.context.error).toBeNull() },
    { from: "pending", event: CANCEL_ROLLBACK, to: "error", check: (s) => expect(s.context.error).toEqual(ROLLED_BACK) },
    {
      from: "running.capturing",
      event: CAPTURE_DONE,
      to: "running.streaming",
      check: (s) => expect(s.context.capture).toEqual(CAPTURED),
    },
    {
      from: "running.capturing",
      event: CAPTURE_FAILED,
      to: "running.streaming",
      check: (s) => expect(s.context.capture).toBeNull(),
    },
    { from: "running.streaming", event: STREAM_DONE, to: "success", check: (s) => expect(s.context.error).toBeNull() },
    {
      from: "running.streaming",
      event: STREAM_FAILED,
      to: "error",
      check: (s) => expect(s.context.error).toEqual({ name: "Error", message: "boom" }),
    },
    { from: "running.capturing", event: CANCEL_INTERRUPT, to: "interrupted" },
    { from: "running.streaming", event: CANCEL_INTERRUPT, to: "interrupted" },
    { from: "running.capturing", event: CANCEL_ROLLBACK, to: "rolling_back" },
    { from: "running.streaming", event: CANCEL_ROLLBACK, to: "rolling_back" },
    { from: "rolling_back", event: RESTORE_DONE, to: "error", check: (s) => expect(s.context.error).toEqual(ROLLED_BACK) },
    {
      from: "rolling_back",
      event: RESTORE_FAILED,
      to: "error",
      check: (s) => {
        expect(s.context.error?.message).toMatch(/restoring .* failed/);
        expect(s.context.error?.message).toContain("saver returned no checkpoint_id");
      },
    },
    {
      from: "running.capturing",
      event: DEADLINE,
      to: "timeout",
      check: (s) => expect(s.context.error).toEqual({ name: "RunTimeout", message: "Run exceeded its timeout of 1000 ms." }),
    },
    { from: "running.streaming", event: DEADLINE, to: "timeout" },
    { from: "running.streaming", event: LEASE_LOST, to: "fenced", check: (s) => expect(s.context.fenced).toBe(true) },
  ];

  it.each(rows.map((row) => ({ ...row, name: `${row.from} --${describeEvent(row.event)}--> ${row.to}` })))(
    "takes $name",
    ({ from, event, to, check }) => {
      const taken = simpleEdges.filter(
        (edge) =>
          leafOf(edge.from.value) === from &&
          describeEvent(edge.event) === describeEvent(event) &&
          leafOf(edge.to.value) === to,
      );
      expect(taken.length).toBeGreaterThan(0);
      for (const edge of taken) {
        check?.(edge.to);
        expect(edge.to.context.status).toBe(to === "fenced" ? "running" : to.split(".")[0]);
      }
    },
  );

  it("never times out a run without timeout_ms", () => {
    const { timeoutMs: _timeoutMs, ...withoutDeadline } = INPUT;
    const paths = getShortestPaths(runMachine, { input: withoutDeadline, events: eventsFor });
    const reached = new Set(paths.map((path) => leafOf(path.state.value)));
    expect(reached.has("running.streaming")).toBe(true);
    expect(reached.has("timeout")).toBe(false);
  });

  it("has no way out of a terminal state", () => {
    for (const status of ["success", "interrupted", "error", "timeout", "fenced"]) {
      expect(runMachine.root.states[status]?.type).toBe("final");
    }
    const finals = Object.values(runMachine.root.states)
      .filter((node) => node.type === "final")
      .map((node) => node.key);
    expect(finals.sort()).toEqual(["error", "fenced", "interrupted", "success", "timeout"]);

    const fromTerminal = adjacency.filter(({ state }) => state.status === "done");
    expect(new Set(fromTerminal.map(({ state }) => leafOf(state.value)))).toEqual(
      new Set(["success", "interrupted", "error", "timeout", "fenced"]),
    );
    for (const { state, nextState } of fromTerminal) {
      expect(nextState.value).toEqual(state.value);
      expect(nextState.context).toEqual(state.context);
    }
  });
});

describe("RUN_TRANSITIONS", () => {
  it("is the DESIGN.md §2 table", () => {
    expect([...RUN_TRANSITIONS].sort()).toEqual([...DESIGN_TABLE].sort());
    expect(RUN_INITIAL_STATUS).toBe("pending");
  });

  it("is what the machine does when run", () => {
    const taken = new Set<string>();
    for (const { from, to } of simpleEdges) {
      const [a, b] = [topLevelOf(from), topLevelOf(to)];
      if (a !== b && a !== "fenced" && b !== "fenced") taken.add(`${a}->${b}`);
    }
    expect([...taken].sort()).toEqual([...RUN_TRANSITIONS].sort());
  });

  it("is derived from state nodes, guarded and nested transitions included", () => {
    const machine = createMachine({
      id: "run",
      initial: "pending",
      states: {
        pending: { on: { GO: { guard: () => false, target: "running" } } },
        running: {
          initial: "a",
          states: { a: { on: { NEXT: "b" } }, b: { always: "#run.success" } },
          on: { LOST: "fenced" },
        },
        success: { type: "final" },
        fenced: { type: "final" },
      },
    });
    expect([...deriveRunTransitions(machine)].sort()).toEqual(["pending->running", "running->success"]);
  });

  it("refuses a machine with a state that is not a run status", () => {
    const machine = createMachine({ id: "run", initial: "pending", states: { pending: { on: { GO: "paused" } }, paused: {} } });
    expect(() => deriveRunTransitions(machine)).toThrow("State 'paused' of machine 'run' is neither a run status nor an internal state.");
  });
});

describe("validateRunPath", () => {
  it("accepts every simple path of the machine", () => {
    expect(simplePaths.length).toBeGreaterThan(10);
    for (const path of simplePaths) {
      const statuses = statusPathOf(path);
      expect(validateRunPath(statuses), statuses.join(" > ")).toEqual({ valid: true });
      const ended = path.state.status === "done" && topLevelOf(path.state) !== "fenced";
      expect(isComplete(statuses), statuses.join(" > ")).toBe(ended);
    }
  });

  it.each([
    { statuses: [], reason: "The path is empty; a run path starts at 'pending'." },
    { statuses: ["running"], reason: "The path starts at 'running'; a run path starts at 'pending'." },
    { statuses: ["pending", "success"], reason: "'pending' -> 'success' at position 1 is not a transition of the run machine." },
    { statuses: ["pending", "pending"], reason: "'pending' -> 'pending' at position 1 is not a transition of the run machine." },
    { statuses: ["pending", "running", "fenced"], reason: "Status 'fenced' at position 2 is not a run status." },
    {
      statuses: ["pending", "running", "success", "running"],
      reason: "Status 'running' at position 3 follows the terminal status 'success'.",
    },
    {
      statuses: ["pending", "running", "rolling_back", "error", "error"],
      reason: "Status 'error' at position 4 follows the terminal status 'error'.",
    },
    { statuses: ["pending", "rolling_back"], reason: "'pending' -> 'rolling_back' at position 1 is not a transition of the run machine." },
  ])("rejects $statuses", ({ statuses, reason }) => {
    expect(validateRunPath(statuses)).toEqual({ valid: false, reason });
    expect(isComplete(statuses)).toBe(false);
  });

  it("tells a prefix from a complete path", () => {
    expect(validateRunPath(["pending", "running", "rolling_back"])).toEqual({ valid: true });
    expect(isComplete(["pending", "running", "rolling_back"])).toBe(false);
    expect(isComplete(["pending", "running", "rolling_back", "error"])).toBe(true);
    expect(isComplete(["pending", "interrupted"])).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Behaviour with real actors
// ---------------------------------------------------------------------------------------------

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface Announcement {
  from: RunStatus | null;
  to: RunStatus;
  cause: string;
}

/** A run whose invoked actors the test settles by hand, recording what the machine announces. */
function harness(input: RunMachineInput = INPUT, options: { clock?: SimulatedClock } = {}) {
  const capture = deferred<PreRunCapture>();
  const stream = deferred<StreamOutput>();
  const restore = deferred<void>();
  const announced: Announcement[] = [];
  const seen: { streamSignal?: AbortSignal; captureSignal?: AbortSignal; restoreCapture?: PreRunCapture | null } = {};
  const machine = runMachine.provide({
    actors: {
      capturePreRun: fromPromise<PreRunCapture, { runId: string; threadId: string }>(({ signal }) => {
        seen.captureSignal = signal;
        return capture.promise;
      }),
      streamGraph: fromPromise<StreamOutput, { runId: string; threadId: string }>(({ signal }) => {
        seen.streamSignal = signal;
        return stream.promise;
      }),
      restorePreRun: fromPromise<void, { runId: string; threadId: string; capture: PreRunCapture | null }>(({ input: restoreInput }) => {
        seen.restoreCapture = restoreInput.capture;
        return restore.promise;
      }),
    },
    actions: {
      // Runs before `enter`, so the context still holds the status being left: the audit's `from`.
      announce: ({ context, event }, params) => {
        announced.push({ from: context.status, to: params.to, cause: causeOf(event) });
      },
    },
  });
  const actor = createActor(machine, { input, ...(options.clock ? { clock: options.clock } : {}) });
  actor.start();
  const streaming = () => waitFor(actor, (snapshot) => snapshot.matches({ running: "streaming" }));
  const output = () => toPromise(actor) as Promise<RunMachineOutput>;
  return { actor, capture, stream, restore, announced, seen, streaming, output };
}

function tos(announced: readonly Announcement[]): RunStatus[] {
  return announced.map((announcement) => announcement.to);
}

describe("run machine with real actors", () => {
  it("announces each status once, with its cause, through a successful run", async () => {
    const run = harness();
    run.actor.send({ type: "START" });
    run.capture.resolve(CAPTURED);
    await run.streaming();
    expect(run.actor.getSnapshot().context.capture).toEqual(CAPTURED);
    run.stream.resolve({ interrupts: [{ value: "approve?" }] });

    expect(await run.output()).toEqual({ status: "success", error: null, interrupts: [{ value: "approve?" }] });
    expect(run.announced).toEqual([
      { from: null, to: "pending", cause: "accepted" },
      { from: "pending", to: "running", cause: "admitted" },
      { from: "running", to: "success", cause: "graph_completed" },
    ]);
    expect(isComplete(tos(run.announced))).toBe(true);
  });

  it("ends error with the graph's error when the graph throws", async () => {
    const run = harness();
    run.actor.send({ type: "START" });
    run.capture.resolve(CAPTURED);
    await run.streaming();
    run.stream.reject(new TypeError("boom"));

    expect(await run.output()).toEqual({ status: "error", error: { name: "TypeError", message: "boom" }, interrupts: [] });
    expect(run.announced.at(-1)).toEqual({ from: "running", to: "error", cause: "graph_failed" });
    expect(tos(run.announced)).toEqual(["pending", "running", "error"]);
  });

  it("ends interrupted when cancelled with interrupt before it starts", async () => {
    const run = harness();
    run.actor.send({ type: "CANCEL", action: "interrupt" });

    expect(await run.output()).toEqual({ status: "interrupted", error: null, interrupts: [] });
    expect(run.announced).toEqual([
      { from: null, to: "pending", cause: "accepted" },
      { from: "pending", to: "interrupted", cause: "cancel_interrupt" },
    ]);
    expect(run.seen.streamSignal).toBeUndefined();
  });

  it("ends error, rolled back, when cancelled with rollback before it starts", async () => {
    const run = harness();
    run.actor.send({ type: "CANCEL", action: "rollback" });

    expect(await run.output()).toEqual({ status: "error", error: ROLLED_BACK, interrupts: [] });
    expect(run.announced.at(-1)).toEqual({ from: "pending", to: "error", cause: "cancel_rollback" });
    expect(run.seen.restoreCapture).toBeUndefined();
  });

  it("aborts the graph and ends interrupted on CANCEL interrupt while streaming", async () => {
    const run = harness();
    run.actor.send({ type: "START" });
    run.capture.resolve(CAPTURED);
    await run.streaming();
    expect(run.seen.streamSignal?.aborted).toBe(false);
    run.actor.send({ type: "CANCEL", action: "interrupt" });

    expect(run.seen.streamSignal?.aborted).toBe(true);
    expect(await run.output()).toEqual({ status: "interrupted", error: null, interrupts: [] });
    expect(run.announced.at(-1)).toEqual({ from: "running", to: "interrupted", cause: "cancel_interrupt" });
  });

  it("aborts the graph, restores the capture and ends error on CANCEL rollback while streaming", async () => {
    const run = harness();
    run.actor.send({ type: "START" });
    run.capture.resolve(CAPTURED);
    await run.streaming();
    run.actor.send({ type: "CANCEL", action: "rollback" });

    expect(run.seen.streamSignal?.aborted).toBe(true);
    expect(run.actor.getSnapshot().value).toBe("rolling_back");
    expect(run.seen.restoreCapture).toEqual(CAPTURED);
    run.restore.resolve();

    expect(await run.output()).toEqual({ status: "error", error: ROLLED_BACK, interrupts: [] });
    expect(run.announced.slice(2)).toEqual([
      { from: "running", to: "rolling_back", cause: "cancel_rollback" },
      { from: "rolling_back", to: "error", cause: "restore_done" },
    ]);
    expect(isComplete(tos(run.announced))).toBe(true);
  });

  it("ends error saying the restore failed when the restore fails", async () => {
    const run = harness();
    run.actor.send({ type: "START" });
    run.capture.resolve(CAPTURED);
    await run.streaming();
    run.actor.send({ type: "CANCEL", action: "rollback" });
    run.restore.reject(new Error("saver returned no checkpoint_id"));

    const output = await run.output();
    expect(output.status).toBe("error");
    expect(output.error).toEqual({
      name: "RollbackFailed",
      message: "Rolled back by user, but restoring the pre-run checkpoint failed: saver returned no checkpoint_id",
    });
    expect(run.announced.at(-1)).toEqual({ from: "rolling_back", to: "error", cause: "restore_failed" });
    expect(tos(run.announced)).toEqual(["pending", "running", "rolling_back", "error"]);
  });

  it("stops a capture still in flight when cancelled, and restores with nothing captured", async () => {
    const run = harness();
    run.actor.send({ type: "START" });
    run.actor.send({ type: "CANCEL", action: "rollback" });

    expect(run.seen.captureSignal?.aborted).toBe(true);
    expect(run.seen.restoreCapture).toBeNull();
    run.restore.resolve();
    expect((await run.output()).error).toEqual(ROLLED_BACK);
  });

  it("goes on streaming without rollback when the capture fails, and succeeds", async () => {
    const run = harness();
    run.actor.send({ type: "START" });
    run.capture.reject(new Error("mongo down"));
    await run.streaming();
    expect(run.actor.getSnapshot().context.capture).toBeNull();
    run.stream.resolve({ interrupts: [] });

    expect(await run.output()).toEqual({ status: "success", error: null, interrupts: [] });
    expect(tos(run.announced)).toEqual(["pending", "running", "success"]);
  });

  it("hands restore no capture when the capture had failed", async () => {
    const run = harness();
    run.actor.send({ type: "START" });
    run.capture.reject(new Error("mongo down"));
    await run.streaming();
    run.actor.send({ type: "CANCEL", action: "rollback" });

    expect(run.seen.restoreCapture).toBeNull();
    run.restore.resolve();
    expect((await run.output()).status).toBe("error");
  });

  it("times out at timeout_ms on the actor's clock and aborts the graph", async () => {
    const clock = new SimulatedClock();
    const run = harness(INPUT, { clock });
    run.actor.send({ type: "START" });
    run.capture.resolve(CAPTURED);
    await run.streaming();

    clock.increment(999);
    expect(run.actor.getSnapshot().matches({ running: "streaming" })).toBe(true);
    clock.increment(1);

    expect(run.seen.streamSignal?.aborted).toBe(true);
    expect(await run.output()).toEqual({
      status: "timeout",
      error: { name: "RunTimeout", message: "Run exceeded its timeout of 1000 ms." },
      interrupts: [],
    });
    expect(run.announced.at(-1)).toEqual({ from: "running", to: "timeout", cause: "deadline_passed" });
  });

  it("counts the deadline from admission, capture included", async () => {
    const clock = new SimulatedClock();
    const run = harness(INPUT, { clock });
    run.actor.send({ type: "START" });
    clock.increment(1000);

    expect(run.seen.captureSignal?.aborted).toBe(true);
    expect((await run.output()).status).toBe("timeout");
  });

  it("never times out without timeout_ms", async () => {
    const clock = new SimulatedClock();
    const run = harness({ runId: "run-2", threadId: "thread-1" }, { clock });
    run.actor.send({ type: "START" });
    run.capture.resolve(CAPTURED);
    await run.streaming();

    clock.increment(2_147_483_647);
    expect(run.actor.getSnapshot().matches({ running: "streaming" })).toBe(true);
    run.stream.resolve({ interrupts: [] });
    expect((await run.output()).status).toBe("success");
  });

  it("stops without a status, aborting the graph, when the lease is lost", async () => {
    const run = harness();
    run.actor.send({ type: "START" });
    run.capture.resolve(CAPTURED);
    await run.streaming();
    run.actor.send({ type: "LEASE_LOST" });

    expect(run.seen.streamSignal?.aborted).toBe(true);
    expect(await run.output()).toEqual({ status: "fenced", error: null, interrupts: [] });
    expect(tos(run.announced)).toEqual(["pending", "running"]);
    expect(validateRunPath(tos(run.announced))).toEqual({ valid: true });
    expect(isComplete(tos(run.announced))).toBe(false);
  });

  it("ends error when the restore hangs past its deadline, so the run never stays rolling_back", async () => {
    const clock = new SimulatedClock();
    const run = harness({ ...INPUT, restoreTimeoutMs: 5000 }, { clock });
    run.actor.send({ type: "START" });
    run.capture.resolve(CAPTURED);
    await run.streaming();
    run.actor.send({ type: "CANCEL", action: "rollback" });
    clock.increment(4999);
    expect(run.actor.getSnapshot().matches("rolling_back")).toBe(true);
    clock.increment(1);

    expect(await run.output()).toEqual({
      status: "error",
      error: {
        name: "RollbackFailed",
        message: "Rolled back by user, but restoring the pre-run checkpoint failed: it did not finish within 5000 ms.",
      },
      interrupts: [],
    });
    expect(run.announced.at(-1)).toEqual({ from: "rolling_back", to: "error", cause: "deadline_passed" });
  });

  it("stops restoring without a status when the lease is lost while rolling back", async () => {
    const run = harness();
    run.actor.send({ type: "START" });
    run.capture.resolve(CAPTURED);
    await run.streaming();
    run.actor.send({ type: "CANCEL", action: "rollback" });
    run.actor.send({ type: "LEASE_LOST" });

    expect(await run.output()).toEqual({ status: "fenced", error: null, interrupts: [] });
    expect(tos(run.announced)).toEqual(["pending", "running", "rolling_back"]);
  });

  it("fails loudly when the run actor did not provide the actors", async () => {
    const actor = createActor(runMachine, { input: INPUT });
    actor.start();
    actor.send({ type: "START" });

    const output = (await toPromise(actor)) as RunMachineOutput;
    expect(output.status).toBe("error");
    expect(output.error?.message).toBe("Actor 'streamGraph' is not provided; the run actor supplies it with machine.provide().");
  });
});
