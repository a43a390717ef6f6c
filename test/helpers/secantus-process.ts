import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient, type MongoClientOptions } from "mongodb";
import { LOCAL_MONGO_SERVER, localSecantusBinary, missingLocalSecantus } from "../harness/local-servers.js";
import { unusedPort } from "./ports.js";

export interface SecantusOptions {
  /** More flags (e.g. `--auth`, `--tls-cert-file`). */
  args?: string[];
  /** How to reach it for the readiness ping (e.g. TLS options). */
  clientOptions?: MongoClientOptions;
}

/**
 * A secantusd-rs server of the test's own, to stop and start again on the same port and data dir
 * (an outage). Needs the local build (tools/secantus/install.sh); fails, naming it, when it is missing.
 */
export class SecantusProcess {
  readonly uri: string;
  private child: ChildProcess | null = null;

  private constructor(
    private readonly binary: string,
    private readonly port: number,
    private readonly workdir: string,
    private readonly options: SecantusOptions,
  ) {
    this.uri = `mongodb://127.0.0.1:${port}/`;
  }

  static async start(options: SecantusOptions = {}): Promise<SecantusProcess> {
    const binary = localSecantusBinary();
    if (!binary) throw new Error(`This test runs its own MongoDB-compatible server and needs ${missingLocalSecantus()}: run \`npm run servers:install\`.`);
    const workdir = mkdtempSync(join(tmpdir(), "runbus-secantus-outage-"));
    // Empty, and named explicitly so the server reads no secantusd.toml of the user's or the system's.
    writeFileSync(join(workdir, "secantusd.toml"), "");
    const server = new SecantusProcess(binary, await unusedPort(), workdir, options);
    await server.up();
    return server;
  }

  /** Starts the server on its port and data dir (WiredTiger recovers whatever a crash left). */
  async up(): Promise<void> {
    const args = ["--config", join(this.workdir, "secantusd.toml"), "--host", "127.0.0.1", "--port", String(this.port)];
    args.push("--storage-path", join(this.workdir, "data"), "--cache-size", "256M", ...(this.options.args ?? []));
    const log = openSync(join(this.workdir, "secantus.log"), "a");
    const child = spawn(this.binary, args, { stdio: ["ignore", log, log] });
    closeSync(log);
    this.child = child;
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) break;
      const client = new MongoClient(this.uri, { serverSelectionTimeoutMS: 300, ...this.options.clientOptions });
      try {
        await client.db("admin").command({ ping: 1 });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        await client.close().catch(() => undefined);
      }
    }
    await this.down();
    const tail = readFileSync(join(this.workdir, "secantus.log"), "utf8").trimEnd().split("\n").slice(-10).join("\n");
    throw new Error(`${LOCAL_MONGO_SERVER} did not answer on ${this.uri}; its log ends:\n${tail}`);
  }

  /** Kills the server at once, as a crash would. */
  async down(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  }

  async destroy(): Promise<void> {
    await this.down();
    rmSync(this.workdir, { recursive: true, force: true });
  }
}
