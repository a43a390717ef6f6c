import { z } from "zod";

/** The answer to every command, on the replies topic. */
export const replySchema = z.object({
  command_id: z.string().nullable(),
  run_id: z.string().optional(),
  thread_id: z.string().nullable(),
  accepted: z.boolean(),
  /**
   * For accepted runs: started at once, queued behind the active run, scheduled (after_seconds),
   * or already known (a retry). For cancels, each stored on the run record before this reply:
   * applied (by the worker that answered, which hosts the run), stored (the run's owner applies
   * it when it reads the control topic, or whichever worker takes the run over next), or done
   * (the run had already ended).
   */
  disposition: z.enum(["started", "queued", "scheduled", "duplicate", "applied", "stored", "done"]).optional(),
  reason: z.string().optional(),
  /** What an accepted command produced: `thread.update_state` the new checkpoint, `thread.copy` the new thread id. */
  result: z.record(z.string(), z.unknown()).optional(),
  code: z.string().optional(),
});
/** `code` is one of the stable ErrorCode strings. */
export type Reply = z.infer<typeof replySchema>;
