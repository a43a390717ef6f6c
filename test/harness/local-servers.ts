import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");
const cache = process.env.RUNBUS_CACHE_DIR ?? join(root, ".cache");

export interface StartedServer {
  /** The bootstrap address (Kafka) or URI (MongoDB wire protocol) the server listens on. */
  address: string;
  /** Where the server keeps its data, logs and pid file. */
  workdir: string;
  /** The server's process id now (tools/kafka/restart.sh starts a new process and rewrites the pid file). */
  readonly pid: number;
  stop(): Promise<void>;
}

export function missingLocalKafka(): string | undefined {
  if (!existsSync(join(cache, "kafka/pom.sha256"))) return `the Kafka jars (${join(cache, "kafka/libs")}; run tools/kafka/install.sh, needs Java 17 + Maven)`;
  return undefined;
}

export function missingLocalFerret(): string | undefined {
  if (!existsSync(join(cache, "ferretdb/runbus-ferretdb"))) return `the FerretDB build (${join(cache, "ferretdb")}; run tools/ferretdb/install.sh, needs Go)`;
  return undefined;
}

async function startWith(tool: "kafka" | "ferretdb", workdir: string): Promise<StartedServer> {
  const script = join(root, "tools", tool, "start.sh");
  const { stdout } = await run("bash", [script, workdir], { timeout: 180_000 });
  const address = stdout.trim().split("\n").pop() ?? "";
  const pidFile = join(workdir, `${tool}.pid`);
  let pid = Number(readFileSync(pidFile, "utf8"));
  return {
    address,
    workdir,
    get pid() {
      // stop.sh removes the file; until then it names the live process.
      if (existsSync(pidFile)) pid = Number(readFileSync(pidFile, "utf8")) || pid;
      return pid;
    },
    stop: async () => {
      await run("bash", [join(root, "tools", tool, "stop.sh"), workdir], { timeout: 60_000 });
    },
  };
}

export const startLocalKafka = (workdir: string): Promise<StartedServer> => startWith("kafka", workdir);
export const startLocalFerret = (workdir: string): Promise<StartedServer> => startWith("ferretdb", workdir);
