import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
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

async function startWith(tool: "kafka" | "secantus", workdir: string, env: Record<string, string> = {}): Promise<StartedServer> {
  const script = join(root, "tools", tool, "start.sh");
  const { stdout } = await run("bash", [script, workdir], { timeout: 180_000, env: { ...process.env, ...env } });
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

/** The secured listeners of the local broker (tools/kafka/start.sh with RUNBUS_KAFKA_SECURE=1). */
export interface SecureKafka {
  /** host:port of the SASL_SSL listener: SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN. */
  saslSsl: string;
  /** host:port of the SSL listener, which requires a client certificate; its CN is the principal. */
  ssl: string;
  /** The PEM CA that signed the broker's certificate (for 127.0.0.1 and localhost) and the client certificates. */
  caFile: string;
  /** Each user's password, for SCRAM and PLAIN alike. */
  users: Record<string, string>;
  /** Each user's client certificate (CN=<user>) and unencrypted PKCS#8 key, as PEM files. */
  clientCerts: Record<string, { certFile: string; keyFile: string }>;
}

export interface LocalKafka extends StartedServer {
  /** The secured listeners, or null when the broker was started without users. */
  secure: SecureKafka | null;
}

/**
 * Starts the local broker. With `secureUsers` it also listens on SASL_SSL and on SSL with mTLS, ACLs
 * enforced there (the plaintext listener stays a super user), each user with a random password.
 */
export async function startLocalKafka(workdir: string, secureUsers: readonly string[] = []): Promise<LocalKafka> {
  // Explicit either way, so a RUNBUS_KAFKA_SECURE in the caller's environment changes nothing.
  if (secureUsers.length === 0) return Object.assign(await startWith("kafka", workdir, { RUNBUS_KAFKA_SECURE: "0" }), { secure: null });
  const users = Object.fromEntries(secureUsers.map((user) => [user, randomBytes(16).toString("hex")]));
  const server = await startWith("kafka", workdir, {
    RUNBUS_KAFKA_SECURE: "1",
    RUNBUS_KAFKA_SCRAM_USERS: Object.entries(users).map(([user, password]) => `${user}:${password}`).join(","),
  });
  const written = JSON.parse(readFileSync(join(workdir, "secure.json"), "utf8")) as Omit<SecureKafka, "users">;
  const missing = secureUsers.filter((user) => !written.clientCerts[user]);
  if (missing.length > 0) {
    await server.stop();
    throw new Error(`tools/kafka/start.sh wrote no client certificate for ${missing.join(", ")} in ${workdir}/secure.json.`);
  }
  return Object.assign(server, { secure: { ...written, users } });
}

export const startLocalSecantus = (workdir: string): Promise<StartedServer> => startWith("secantus", workdir);
