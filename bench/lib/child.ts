/**
 * Benchmark parts that must not share the driver's event loop (a runbus worker, the LangGraph API
 * server, the memory probe) run as child processes, talking JSON over the IPC channel.
 */
import { fork, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { onExit } from "./cleanup.js";

export interface ChildMessage {
  type: string;
  [key: string]: unknown;
}

export class Child {
  private readonly waiters: Array<{ type: string; resolve: (m: ChildMessage) => void }> = [];
  /** Messages nobody waited for yet (several can arrive in one read). */
  private readonly inbox: ChildMessage[] = [];
  private exited: Promise<number | null>;
  private unregister: () => void;
  private failure: Error | null = null;

  private constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
  ) {
    this.unregister = onExit(() => {
      if (proc.exitCode === null) proc.kill("SIGKILL");
    });
    proc.on("message", (message: ChildMessage) => {
      const index = this.waiters.findIndex((w) => w.type === message.type || message.type === "error");
      if (index >= 0) this.waiters.splice(index, 1)[0]!.resolve(message);
      else this.inbox.push(message);
    });
    this.exited = new Promise((resolve) =>
      proc.once("exit", (code, signal) => {
        this.unregister();
        if (code !== 0 && signal !== "SIGTERM" && signal !== "SIGKILL") this.failure = new Error(`${name} exited with code ${code} (${signal ?? "no signal"}).`);
        resolve(code);
        for (const w of this.waiters.splice(0)) w.resolve({ type: "exit", code });
      }),
    );
  }

  /** Forks `script` (TypeScript, through tsx) with `nodeArgs` such as --expose-gc or --cpu-prof. */
  /** `logFile`: where the child's stdout and stderr go (else this process's stderr). */
  static start(name: string, script: string, options: { args?: string[]; nodeArgs?: string[]; env?: NodeJS.ProcessEnv; logFile?: string } = {}): Child {
    let fd: number | undefined;
    if (options.logFile) {
      mkdirSync(dirname(options.logFile), { recursive: true });
      fd = openSync(options.logFile, "a");
    }
    const proc = fork(script, options.args ?? [], {
      execArgv: ["--import", "tsx", ...(options.nodeArgs ?? [])],
      env: { ...process.env, ...options.env },
      stdio: ["ignore", fd ?? 2, fd ?? 2, "ipc"],
    });
    if (fd !== undefined) closeSync(fd);
    return new Child(name, proc);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  send(message: ChildMessage): void {
    this.proc.send(message);
  }

  /** The next message of `type`; fails if the child exits first. */
  async next<T extends ChildMessage = ChildMessage>(type: string, timeoutMs = 120_000): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const queued = this.inbox.findIndex((m) => m.type === type || m.type === "error");
    const message = await Promise.race([
      queued >= 0 ? Promise.resolve(this.inbox.splice(queued, 1)[0]!) : new Promise<ChildMessage>((resolve) => this.waiters.push({ type, resolve })),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${this.name}: no '${type}' within ${timeoutMs} ms.`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    if (message.type === "exit") throw this.failure ?? new Error(`${this.name} exited before sending '${type}'.`);
    if (message.type === "error") throw new Error(`${this.name}: ${String(message.message)}`);
    return message as T;
  }

  /** Sends `request`, awaits the reply of `replyType`. */
  async call<T extends ChildMessage = ChildMessage>(request: ChildMessage, replyType: string, timeoutMs?: number): Promise<T> {
    const reply = this.next<T>(replyType, timeoutMs);
    this.send(request);
    return reply;
  }

  /** Asks the child to stop (message `stop`), then SIGTERM, then SIGKILL, by its pid. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.proc.exitCode !== null) return;
    if (this.proc.connected) this.proc.send({ type: "stop" });
    const done = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) {
      this.proc.kill("SIGTERM");
      const termed = await Promise.race([this.exited.then(() => true), sleep(5000).then(() => false)]);
      if (!termed) this.proc.kill("SIGKILL");
      await this.exited;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** In a child: handles the parent's messages; replies are plain `process.send` calls. */
export function serveParent(handler: (message: ChildMessage) => Promise<void> | void): void {
  process.on("message", (message: ChildMessage) => {
    Promise.resolve(handler(message)).catch((error: unknown) => {
      process.send?.({ type: "error", message: error instanceof Error ? error.stack ?? error.message : String(error) });
    });
  });
  // The parent died: don't linger.
  process.on("disconnect", () => process.exit(0));
}
