import { z } from "zod";
import type { ErrorCode } from "../errors.js";

/** The answer to every command, on the replies topic. */
export const replySchema = z.object({
  command_id: z.string().nullable(),
  run_id: z.string().optional(),
  thread_id: z.string().nullable(),
  accepted: z.boolean(),
  /** For accepted runs: started at once, queued behind the active run, or already known (a retry). */
  disposition: z.enum(["started", "queued", "scheduled", "duplicate", "done"]).optional(),
  reason: z.string().optional(),
  code: z.string().optional(),
});
export type Reply = z.infer<typeof replySchema> & { code?: ErrorCode };
