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
