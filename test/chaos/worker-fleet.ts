/**
 * `runbus worker` child processes for the chaos scenario: started with a fresh worker id each,
 * killed with SIGKILL by pid, stopped with SIGTERM (then SIGKILL) at the end. Each worker's
 * output goes to its own log file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";

export interface WorkerProcess {
  id: string;
  pid: number;
  log: string;
  startedAt: number;
  /** Set when the worker logged "worker started". */
  readyAt: number | null;
  /** Set when the process exited, however it exited. */
  exitedAt: number | null;
  ready: Promise<void>;
  exited: Promise<number | null>;
  child: ChildProcess;
}

export interface Kill {
  workerId: string;
  pid: number;
  at: number;
}

export interface FleetOptions {
  root: string;
  /** RUNBUS_* settings shared by every worker; RUNBUS_WORKER_ID is set per process. */
  settings: Record<string, string>;
  graphsModule: string;
  logDir: string;
  /** A worker that has not logged "worker started" within this is a failure. */
  startTimeoutMs: number;
  idPrefix: string;
}

export class WorkerFleet {
  readonly all: WorkerProcess[] = [];
  readonly kills: Kill[] = [];
  private generation = 0;

  constructor(private readonly options: FleetOptions) {}

  get live(): WorkerProcess[] {
    return this.all.filter((worker) => worker.exitedAt === null);
  }

  /** Starts one worker process; `ready` settles when it logs "worker started" (or fails on timeout/exit). */
  spawn(): WorkerProcess {
    const { root, settings, graphsModule, logDir, startTimeoutMs, idPrefix } = this.options;
    const id = `${idPrefix}w${++this.generation}`;
    const env: NodeJS.ProcessEnv = { NO_COLOR: "1" };
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("RUNBUS_")) env[key] = value;
    // Several workers on one machine: each takes any free port for its operations listener.
    Object.assign(env, settings, { RUNBUS_WORKER_ID: id, RUNBUS_METRICS_PORT: "0" });
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "worker", "--graphs", graphsModule], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (child.pid === undefined) throw new Error(`Could not start worker ${id}.`);
    const log = join(logDir, `${id}.log`);
    const out = createWriteStream(log);
    const worker: WorkerProcess = {
      id,
      pid: child.pid,
      log,
      startedAt: Date.now(),
      readyAt: null,
      exitedAt: null,
      child,
      ready: Promise.resolve(),
      exited: Promise.resolve(null),
    };
    worker.exited = new Promise((resolve) => {
      child.on("close", (code, signal) => {
        worker.exitedAt ??= Date.now();
        out.end(`\n[chaos] worker ${id} (pid ${worker.pid}) exited: code ${code}, signal ${signal}\n`);
        resolve(code);
      });
    });
    let seen = "";
    worker.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Worker ${id} (pid ${worker.pid}) did not start within ${startTimeoutMs} ms; see ${log}.`)), startTimeoutMs);
      timer.unref();
      const onData = (chunk: Buffer) => {
        out.write(chunk);
        if (worker.readyAt !== null) return;
        // Only the tail matters: the start line may arrive split across chunks.
        seen = (seen + chunk.toString()).slice(-4096);
        if (seen.includes('"msg":"worker started"')) {
          worker.readyAt = Date.now();
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      void worker.exited.then((code) => {
        clearTimeout(timer);
        if (worker.readyAt === null) reject(new Error(`Worker ${id} (pid ${worker.pid}) exited with code ${code} before it started; see ${log}.`));
      });
    });
    // Observed by whoever awaits it; never an unhandled rejection.
    worker.ready.catch(() => undefined);
    this.all.push(worker);
    return worker;
  }

  /** SIGKILLs a worker by pid and waits (bounded) for it to be gone. */
  async kill(worker: WorkerProcess): Promise<Kill> {
    const kill: Kill = { workerId: worker.id, pid: worker.pid, at: Date.now() };
    process.kill(worker.pid, "SIGKILL");
    this.kills.push(kill);
    await withTimeout(worker.exited, 10_000, `worker ${worker.id} (pid ${worker.pid}) to exit after SIGKILL`);
    return kill;
  }

  /** SIGTERM to every live worker; SIGKILL for those still running after `graceMs`. */
  async stopAll(graceMs: number): Promise<void> {
    const live = this.live;
    for (const worker of live) signal(worker.pid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    await Promise.all(
      live.map(async (worker) => {
        const left = Math.max(0, deadline - Date.now());
        const exited = await Promise.race([worker.exited.then(() => true), sleep(left).then(() => false)]);
        if (!exited) {
          signal(worker.pid, "SIGKILL");
          await withTimeout(worker.exited, 10_000, `worker ${worker.id} (pid ${worker.pid}) to exit after SIGKILL`);
        }
      }),
    );
  }

  /** Last resort (the scenario itself failed): SIGKILL every worker still running, by pid. */
  killAllNow(): void {
    for (const worker of this.live) signal(worker.pid, "SIGKILL");
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}.`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
