import { z } from "zod";

/** One state transition of a run or a thread, as published on the audit topic. */
export const transitionSchema = z.object({
  kind: z.enum(["run", "thread"]),
  id: z.string(),
  thread_id: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  cause: z.string(),
  at: z.string(),
  worker_id: z.string(),
  seq: z.number().int().nonnegative(),
});
export type Transition = z.infer<typeof transitionSchema>;

/**
 * A transition's CloudEvents id (`ce_id`): the same for every delivery of one transition. A
 * thread's claim and release by a run happen once each, so they are named by their cause
 * (`thread:<id>:claimed:<run_id>`): a worker that takes over a run holding the thread can announce
 * the claim again, whichever worker made it.
 */
export function transitionId(transition: Pick<Transition, "kind" | "id" | "worker_id" | "seq" | "cause">): string {
  if (transition.kind === "thread" && /^(claimed|released):/.test(transition.cause)) return `thread:${transition.id}:${transition.cause}`;
  return `${transition.kind}:${transition.id}:${transition.worker_id}:${transition.seq}`;
}

/**
 * Transitions without their re-deliveries, as a consumer should read the audit topic: a worker
 * that takes a run over publishes the transitions its dead owner had stored again, with the same
 * `ce_id`, since the owner may have died before publishing them.
 */
export function distinctTransitions<T extends Transition>(transitions: readonly T[]): T[] {
  const seen = new Set<string>();
  return transitions.filter((transition) => {
    const id = transitionId(transition);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
