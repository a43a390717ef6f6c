import { checkId, EXIT_FAILED, EXIT_OK, withClient } from "./context.js";
import { green, red } from "./render.js";

export interface CancelOptions {
  thread: string;
  rollback?: boolean;
}

/** `runbus cancel <run_id> --thread <id>`: interrupts the run (or rolls it back) and prints the worker's reply. */
export async function cancelCommand(runId: string, options: CancelOptions): Promise<number> {
  checkId("run", runId);
  checkId("thread", options.thread);
  const action = options.rollback ? "rollback" : "interrupt";
  return withClient("cancel", async (client) => {
    const reply = await client.runs.cancel(options.thread, runId, action);
    if (!reply.accepted) {
      process.stdout.write(`${red("rejected")} ${reply.code ?? "rejected"}: ${reply.reason ?? "no reason given"}\n`);
      return EXIT_FAILED;
    }
    const disposition = reply.disposition ? ` (${reply.disposition})` : "";
    process.stdout.write(`${green("accepted")} ${action} of run ${runId} on thread ${options.thread}${disposition}\n`);
    return EXIT_OK;
  });
}
