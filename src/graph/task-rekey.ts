import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { CheckpointPendingWrite } from "@langchain/langgraph-checkpoint";

/**
 * What a restore asks for the task ids LangGraph derives for a stored checkpoint: the compiled
 * graph, whose `getState` at a `checkpoint_id` lists that checkpoint's next tasks with their ids.
 */
export interface TaskIdSource {
  getState(config: RunnableConfig): Promise<{ tasks: ReadonlyArray<object> }>;
}

/** The captured pending writes, with the ids of the tasks and interrupts they belong to moved over. */
export interface RekeyedWrites {
  writes: CheckpointPendingWrite[];
  /** Old task id → new task id, for each task whose writes moved. */
  tasks: Map<string, string>;
  /** Ids no task of the restored checkpoint matched; their writes keep them. */
  unmatched: string[];
  /** Interrupt ids of moved tasks that could not be derived again (e.g. raised inside a subgraph). */
  staleInterrupts: string[];
}

const NULL_TASK_ID = "00000000-0000-0000-0000-000000000000";
const INTERRUPT = "__interrupt__";
const RESUME = "__resume__";

interface Identity {
  id: string;
  name: string;
}

/**
 * Moves pending writes captured on checkpoint `oldCheckpointId` over to the task ids LangGraph
 * derives for the same checkpoint stored again as `newCheckpointId`. Task ids hash the checkpoint id
 * with the task's namespace, step, node and trigger or Send index, so the graph plans the tasks of
 * both checkpoints and a task is the same when its node name and path are. Interrupt ids hash the
 * task's namespace (`node:taskId`), so they are derived again too; resume maps and LangGraph's
 * pending-interrupt checks compare against the derived id, not the stored one.
 */
export async function rekeyPendingWrites(
  source: TaskIdSource,
  target: { threadId: string; checkpointNs: string; oldCheckpointId: string; newCheckpointId: string },
  writes: readonly CheckpointPendingWrite[],
): Promise<RekeyedWrites> {
  const at = (checkpointId: string) =>
    plannedTasks(source, { configurable: { thread_id: target.threadId, checkpoint_ns: target.checkpointNs, checkpoint_id: checkpointId } });
  const [before, after] = await Promise.all([at(target.oldCheckpointId), at(target.newCheckpointId)]);

  const written = new Set(writes.map(([taskId]) => taskId));
  const tasks = new Map<string, string>();
  const identities = new Map<string, Identity>();
  for (const [key, old] of before) {
    const next = after.get(key);
    if (next === undefined || !written.has(old.id)) continue;
    tasks.set(old.id, next.id);
    identities.set(old.id, old);
  }

  // An interrupt's id depends on how many resume values its task had when it was raised, so every
  // count up to the task's recorded ones is derived; a stored id is only rewritten on an exact match.
  const interruptIdOf = await loadInterruptId();
  const interrupts = new Map<string, string>();
  for (const [oldId, { name }] of identities) {
    const newId = tasks.get(oldId) as string;
    const answered = writes.filter(([taskId, channel]) => taskId === oldId && channel === RESUME).flatMap(([, , value]) => (Array.isArray(value) ? value : [value])).length;
    for (let count = 0; count <= answered; count += 1) {
      interrupts.set(
        interruptIdOf(taskNamespace(target.checkpointNs, name, oldId), count),
        interruptIdOf(taskNamespace(target.checkpointNs, name, newId), count),
      );
    }
  }

  const unmatched = new Set<string>();
  const staleInterrupts = new Set<string>();
  const rekeyed = writes.map(([taskId, channel, value]): CheckpointPendingWrite => {
    if (taskId === NULL_TASK_ID) return [taskId, channel, value];
    const newTaskId = tasks.get(taskId);
    if (newTaskId !== undefined) {
      if (channel !== INTERRUPT || !Array.isArray(value)) return [newTaskId, channel, value];
      return [newTaskId, channel, value.map((raised: unknown) => rekeyInterrupt(raised, interrupts, staleInterrupts))];
    }
    // A resume by interrupt id (`Command({ resume: { [id]: value } })`) is stored under that id.
    const newInterruptId = channel === RESUME ? interrupts.get(taskId) : undefined;
    if (newInterruptId !== undefined) return [newInterruptId, channel, value];
    unmatched.add(taskId);
    return [taskId, channel, value];
  });
  return { writes: rekeyed, tasks, unmatched: [...unmatched], staleInterrupts: [...staleInterrupts] };
}

function rekeyInterrupt(raised: unknown, interrupts: Map<string, string>, stale: Set<string>): unknown {
  if (typeof raised !== "object" || raised === null) return raised;
  const id: unknown = (raised as { id?: unknown }).id;
  if (typeof id !== "string") return raised;
  const newId = interrupts.get(id);
  if (newId === undefined) {
    stale.add(id);
    return raised;
  }
  return { ...raised, id: newId };
}

/** The checkpoint's next tasks by node name and path; a key two tasks share is left out, never guessed. */
async function plannedTasks(source: TaskIdSource, config: RunnableConfig): Promise<Map<string, Identity>> {
  const state = await source.getState(config);
  const byKey = new Map<string, Identity>();
  const shared = new Set<string>();
  for (const task of state.tasks) {
    const { id, name, path } = task as { id?: unknown; name?: unknown; path?: unknown };
    if (typeof id !== "string" || typeof name !== "string" || !Array.isArray(path)) continue;
    const key = JSON.stringify([name, path]);
    if (byKey.has(key)) shared.add(key);
    byKey.set(key, { id, name });
  }
  for (const key of shared) byKey.delete(key);
  return byKey;
}

/** The namespace LangGraph runs a task in (`checkpoint_ns` inside the node), which its interrupt ids hash. */
function taskNamespace(parentNs: string, name: string, taskId: string): string {
  return `${parentNs === "" ? name : `${parentNs}|${name}`}:${taskId}`;
}

type InterruptIdFn = (namespace: string, answered: number) => string;
let interruptIdModule: Promise<InterruptIdFn> | undefined;

/**
 * LangGraph's own `interruptId`. The package does not export it, so it is loaded from the module
 * that `interrupt()` itself lives in, beside the package's entry point.
 */
function loadInterruptId(): Promise<InterruptIdFn> {
  interruptIdModule ??= (async () => {
    const entry = createRequire(import.meta.url).resolve("@langchain/langgraph");
    const loaded = (await import(pathToFileURL(join(dirname(entry), "interrupt.js")).href)) as { interruptId?: unknown };
    if (typeof loaded.interruptId !== "function") throw new Error("@langchain/langgraph has no interruptId beside its entry point");
    return loaded.interruptId as InterruptIdFn;
  })();
  interruptIdModule.catch(() => (interruptIdModule = undefined));
  return interruptIdModule;
}
