import { z } from "zod";
import { TERMINAL_RUN_STATUSES } from "./run-status.js";

/** `metadata` — always the first event of a run attempt. */
export const metadataEventSchema = z.object({ run_id: z.string(), thread_id: z.string(), attempt: z.number().int().positive() });
/** `error` — when the run fails. */
export const errorEventSchema = z.object({ name: z.string(), message: z.string() });
/** `end` — always the last event of a run, exactly once. */
export const endEventSchema = z.object({
  status: z.enum(TERMINAL_RUN_STATUSES),
  error: errorEventSchema.optional(),
  interrupts: z.array(z.unknown()).optional(),
});

export type MetadataEvent = z.infer<typeof metadataEventSchema>;
export type ErrorEvent = z.infer<typeof errorEventSchema>;
export type EndEvent = z.infer<typeof endEventSchema>;

/** One record of a run's event stream: its name, its data, and its gapless sequence number. */
export interface RunEvent {
  run_id: string;
  thread_id: string;
  seq: number;
  name: string;
  data: unknown;
  at: string;
}
