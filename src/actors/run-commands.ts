import { RunbusError } from "../errors.js";
import { isHeldRun, type RunStore } from "../ports.js";
import type { RunDeleteCommand } from "../protocol/commands.js";
import type { Reply } from "../protocol/replies.js";
import { isTerminalRunStatus } from "../protocol/run-status.js";

/**
 * Deletes an ended run's record. A live or still finishing run is refused: its worker still writes
 * the record, and deleting it would take the run's fencing with it. Run inside the thread's admission, so no
 * create of the same run id interleaves.
 */
export async function deleteRun(runs: RunStore, command: RunDeleteCommand): Promise<Reply> {
  const run = await runs.get(command.run_id);
  if (!run || run.thread_id !== command.thread_id) {
    throw new RunbusError("run_not_found", `Run ${command.run_id} does not exist on thread ${command.thread_id}.`);
  }
  if (!isTerminalRunStatus(run.status) || isHeldRun(run)) {
    throw new RunbusError("run_active", `Run ${command.run_id} is ${run.status}; cancel it and wait for its end before deleting it.`);
  }
  await runs.delete(command.run_id);
  return { command_id: command.command_id ?? null, run_id: command.run_id, thread_id: command.thread_id, accepted: true };
}
