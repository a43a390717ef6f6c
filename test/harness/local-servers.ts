import { execFile, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");

const secantusVersion = /^secantus_version=(\S+)$/m.exec(readFileSync(join(root, "tools/secantus/version.sh"), "utf8"))?.[1] ?? "?";
/** The local MongoDB wire-protocol server, as the test output and the benchmarks name it. */
export const LOCAL_MONGO_SERVER = `secantus-mdb ${secantusVersion} (WiredTiger)`;

export interface StartedServer {
  /** The bootstrap address (Kafka) or URI (MongoDB wire protocol) the server listens on. */
  address: string;
  /** Where the server keeps its data, logs and pid file. */
  workdir: string;
  /** The server's process id now (tools/kafka/restart.sh starts a new process and rewrites the pid file). */
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Where `tools/<tool>/install.sh` puts what it installs (in the per-user cache), and whether it is
 * there. The install script answers (`--where`), so the cache's layout is written down once.
 */
function installed(tool: "kafka" | "secantus"): { path: string; present: boolean } {
  const result = spawnSync("bash", [join(root, "tools", tool, "install.sh"), "--where"], { encoding: "utf8" });
  return { path: result.stdout.trim(), present: result.status === 0 };
}

export function missingLocalKafka(): string | undefined {
  const jars = installed("kafka");
  return jars.present ? undefined : `the Kafka jars (${jars.path}), which tools/kafka/install.sh fetches with Java 17 + Maven`;
}

/** The secantusd-rs binary tools/secantus/install.sh built, or undefined when it has not been built. */
export function localSecantusBinary(): string | undefined {
  const binary = installed("secantus");
  return binary.present ? binary.path : undefined;
}

export function missingLocalSecantus(): string | undefined {
  const binary = installed("secantus");
  if (binary.present) return undefined;
  return (
    `the ${LOCAL_MONGO_SERVER} server binary (${binary.path}), which tools/secantus/install.sh builds ` +
    "with Rust's cargo, CMake and a C compiler in about 15 minutes, once per machine"
  );
}

async function startWith(tool: "kafka" | "secantus", workdir: string): Promise<StartedServer> {
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
export const startLocalSecantus = (workdir: string): Promise<StartedServer> => startWith("secantus", workdir);
