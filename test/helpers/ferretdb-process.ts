import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { MongoClient } from "mongodb";
import { unusedPort } from "./ports.js";

const binary = join(process.env.RUNBUS_CACHE_DIR ?? resolve(import.meta.dirname, "../../.cache"), "ferretdb/runbus-ferretdb");

/**
 * A FerretDB server of the test's own, to stop and start again on the same port and data dir
 * (an outage). Needs the local build; fails, naming it, when it is missing.
 */
export class FerretProcess {
  readonly uri: string;
  private child: ChildProcess | null = null;

  private constructor(
    private readonly port: number,
    private readonly dataDir: string,
  ) {
    this.uri = `mongodb://127.0.0.1:${port}/`;
  }

  static async start(): Promise<FerretProcess> {
    if (!existsSync(binary)) throw new Error(`This test runs its own FerretDB and needs ${binary}: run tools/ferretdb/install.sh (needs Go).`);
    const server = new FerretProcess(await unusedPort(), mkdtempSync(join(tmpdir(), "runbus-ferret-outage-")));
    await server.up();
    return server;
  }

  async up(): Promise<void> {
    this.child = spawn(binary, ["-addr", `127.0.0.1:${this.port}`, "-data", this.dataDir], { stdio: "ignore" });
    for (let i = 0; i < 100; i++) {
      const client = new MongoClient(this.uri, { serverSelectionTimeoutMS: 300 });
      try {
        await client.db("admin").command({ ping: 1 });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        await client.close().catch(() => undefined);
      }
    }
    throw new Error(`FerretDB did not answer on ${this.uri}`);
  }

  /** Kills the server at once, as a crash would. */
  async down(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  }

  async destroy(): Promise<void> {
    await this.down();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
