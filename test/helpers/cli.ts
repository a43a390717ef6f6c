/** The runbus command line run as a user runs it: a process of its own, from the checkout. */
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment a user would have: no RUNBUS_* settings but the ones given, no colours. */
export function cliEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { NO_COLOR: "1" };
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("RUNBUS_")) env[key] = value;
  // Test files run side by side: a listener of their own on any free port.
  return { ...env, RUNBUS_METRICS_PORT: "0", ...settings };
}

/** Starts `runbus <args>`; its output accumulates in `output`, `result` resolves when it exits. */
export function startCli(args: string[], env: NodeJS.ProcessEnv): ChildProcess & { result: Promise<CliResult>; output: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  const output = { stdout: "", stderr: "" };
  child.stdout.on("data", (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output.stderr += chunk.toString()));
  const result = new Promise<CliResult>((resolvePromise, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, ...output }));
  });
  return Object.assign(child, { result, output });
}

/** Runs `runbus <args>` to its exit (killed after `timeoutMs`). */
export async function cli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 45_000): Promise<CliResult> {
  const child = startCli(args, env);
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    return await child.result;
  } finally {
    clearTimeout(timer);
  }
}
