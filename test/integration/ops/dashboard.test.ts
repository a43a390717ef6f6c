/**
 * The operations files in deploy/ against a real worker: promtool accepts the Prometheus config,
 * every PromQL expression of the Grafana dashboard parses, and every metric and label it queries
 * is in a real worker's /metrics scrape (which promtool's linter accepts too); every runbus_
 * metric the worker exports is on the dashboard.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createClient, type RunbusClient } from "../../../src/client/client.js";
import { loadConfig } from "../../../src/config.js";
import { silentLogger } from "../../../src/logger.js";
import { RunbusMetrics } from "../../../src/ops/metrics.js";
import { OpsServer } from "../../../src/ops/ops-server.js";
import { Worker } from "../../../src/worker.js";
import { slowGraph, testGraphs } from "../../fixtures/graphs.js";
import { uniquePrefix } from "../../helpers/kafka-worker.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PROMETHEUS_CONFIG = join(ROOT, "deploy/prometheus/prometheus.yml");
const DASHBOARD = join(ROOT, "deploy/grafana/runbus.json");
/** Labels Prometheus adds to every scraped series: not in the scrape itself. */
const TARGET_LABELS = new Set(["job", "instance"]);
/**
 * What `promtool check metrics` may say of a scrape: prom-client's default process metrics include
 * gauges whose names end in _total, names runbus cannot change. Nothing else, nothing of runbus_.
 */
const ALLOWED_LINT = new Set(
  ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"].map((name) => `${name} non-counter metrics should not have "_total" suffix`),
);

/** Runs promtool; a missing promtool fails the test with how to install it, never skips it. */
function promtool(args: string[], input?: string): { status: number | null; output: string } {
  const result = spawnSync("promtool", args, { cwd: ROOT, input, encoding: "utf8", timeout: 30_000 });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
    throw new Error("promtool is not installed: run `bash tools/prometheus/install.sh` (Debian's prometheus package)");
  }
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

interface Query {
  /** Where it is on the dashboard, for the failure messages. */
  where: string;
  /** As Grafana sends it, its variables replaced with values Prometheus accepts. */
  expr: string;
  legend: string | undefined;
}

interface Panel {
  title?: string;
  panels?: Panel[];
  targets?: Array<{ expr?: string; legendFormat?: string }>;
}

/** Grafana's variables: intervals become a duration, the others (in regex matchers) match all. */
function substitute(expr: string): string {
  return expr.replace(/\$__(?:rate_interval|interval|range)\b|\$\{__(?:rate_interval|interval|range)\}/g, "5m").replace(/\$\{\w+\}|\$\w+/g, ".*");
}

function dashboardQueries(): Query[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
    panels: Panel[];
    templating: { list: Array<{ name: string; type: string; query: string | { query: string } }> };
  };
  const queries: Query[] = [];
  const walk = (panels: Panel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr) queries.push({ where: `panel "${panel.title}"`, expr: substitute(target.expr), legend: target.legendFormat });
      }
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const variable of dashboard.templating.list) {
    if (variable.type !== "query") continue;
    const text = typeof variable.query === "string" ? variable.query : variable.query.query;
    // label_values(selector, label) queries the selector's series.
    const selector = /^label_values\((.+),\s*\w+\s*\)$/.exec(text.trim())?.[1] ?? text;
    queries.push({ where: `variable $${variable.name}`, expr: substitute(selector), legend: undefined });
  }
  return queries;
}

const withoutStrings = (expr: string) => expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
const GROUPING = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
const NOT_METRICS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or", "unless", "inf", "nan"]);

/** The metric names an expression selects: identifiers that are no function, keyword, label or duration. */
function metricNames(expr: string): string[] {
  const bare = withoutStrings(expr)
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(GROUPING, " ");
  const names = new Set<string>();
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const before = bare[match.index - 1] ?? " ";
    const after = bare.slice(match.index + match[0].length);
    if (/[0-9.]/.test(before) || /^\s*\(/.test(after) || NOT_METRICS.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names];
}

/** The labels an expression matches on or groups by. */
function queriedLabels(expr: string): string[] {
  const text = withoutStrings(expr);
  const labels = new Set<string>();
  for (const [, matchers] of text.matchAll(/\{([^}]*)\}/g)) for (const [, label] of matchers!.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.add(label!);
  for (const [, list] of text.matchAll(GROUPING)) for (const label of list!.split(",").map((l) => l.trim()).filter(Boolean)) labels.add(label);
  return [...labels];
}

const AGGREGATION = /\b(?:sum|avg|min|max|count|group|stddev|stdvar|topk|bottomk|quantile|count_values)\s*(?:\(|by\b|without\b)/;

/** The labels of the expression's `by (…)` clauses. */
function byLabels(expr: string): string[] {
  return [...withoutStrings(expr).matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap(([, list]) => list!.split(",").map((l) => l.trim()).filter(Boolean));
}

interface Scrape {
  /** `# TYPE` lines: metric family name → type. */
  types: Map<string, string>;
  /** Sample name → the label names seen on its samples. */
  samples: Map<string, Set<string>>;
}

function parseScrape(text: string): Scrape {
  const types = new Map<string, string>();
  const samples = new Map<string, Set<string>>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === "" || line.startsWith("#")) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!sample) continue;
    const labels = samples.get(sample[1]!) ?? new Set<string>();
    for (const [, label] of (sample[2] ?? "").matchAll(/([a-zA-Z_]\w*)="/g)) labels.add(label!);
    samples.set(sample[1]!, labels);
  }
  return { types, samples };
}

/** Why a queried name is not in the scrape, or null when it is (a histogram's series by their family). */
function missing(name: string, scrape: Scrape): string | null {
  if (scrape.types.has(name) || scrape.samples.has(name)) return null;
  const suffix = /^(.+)_(bucket|sum|count)$/.exec(name);
  if (!suffix) return `${name}: no such metric in the scrape`;
  const family = scrape.types.get(suffix[1]!);
  const allowed = suffix[2] === "bucket" ? ["histogram"] : ["histogram", "summary"];
  return family && allowed.includes(family) ? null : `${name}: ${suffix[1]} is ${family ? `a ${family}` : "not in the scrape"}, no histogram`;
}

/** Polls until `condition` holds (expect.poll is for tests, not hooks). */
async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("deploy/prometheus/prometheus.yml", () => {
  it("is a valid Prometheus config for promtool", () => {
    const check = promtool(["check", "config", PROMETHEUS_CONFIG]);
    expect(check.status, check.output).toBe(0);
    expect(check.output).toContain("SUCCESS");
  });
});

describe("deploy/grafana/runbus.json against a worker's /metrics", () => {
  let worker: Worker;
  let ops: OpsServer;
  let client: RunbusClient;
  let prefix: string;
  let dbName: string;
  let text: string;
  let scrape: Scrape;
  const queries = dashboardQueries();

  beforeAll(async () => {
    prefix = uniquePrefix();
    dbName = `runbus_dashboard_${prefix.slice(1, -1)}`;
    // MongoDB stores as a deployed worker has (their commands are metered); a short lease, so that
    // a run sees its lease renewed within a second.
    const config = loadConfig(
      {},
      { kafka: { brokers: inject("kafkaBrokers") }, mongodb: { uri: inject("mongodbUri"), dbName }, topicPrefix: prefix, commandPartitions: 2, leaseMs: 3000 },
    );
    const metrics = new RunbusMetrics();
    const graphs = { ...testGraphs, long: (options: Parameters<typeof slowGraph>[0]) => slowGraph({ ...options, steps: 100 }) };
    worker = await Worker.create(config, { graphs, logger: silentLogger(), metrics });
    await worker.start();
    ops = await OpsServer.start({ port: 0, host: "127.0.0.1", metrics, liveness: worker.checks!.liveness, readiness: worker.checks!.readiness, logger: silentLogger() });
    client = createClient({ brokers: inject("kafkaBrokers"), topicPrefix: prefix, replyTimeoutMs: 20_000 });
    const get = async () => (await fetch(`${ops.url}/metrics`)).text();

    // A run that streams model tokens gives the histograms, events and tokens their samples.
    expect((await client.runs.wait({ thread_id: "d-chat", graph_id: "chat", input: { messages: [{ role: "user", content: "hello" }] } })).status).toBe("success");
    // A run held until a lease renewal shows, then cancelled.
    const long = await client.runs.create({ thread_id: "d-long", graph_id: "long", input: {} });
    await until(async () => parseScrape(await get()).samples.has("runbus_lease_renewals_total"), "a lease renewal in /metrics");
    await client.runs.cancel("d-long", long.run_id);
    expect((await client.runs.join(long.run_id)).status).toBe("interrupted");
    // A command that is no JSON is dead-lettered, with its code.
    const producer = new Kafka({ brokers: inject("kafkaBrokers"), logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic: `${prefix}runbus.commands`, messages: [{ key: "d-bad", value: "{not json" }] });
    await producer.disconnect();
    // The command lag is read from the brokers at each scrape.
    await until(async () => {
      const { samples } = parseScrape((text = await get()));
      return samples.has("runbus_dead_letters_total") && samples.has("runbus_command_consumer_lag");
    }, "a dead letter and the command lag in /metrics");
    scrape = parseScrape(text);
  }, 90_000);
  afterAll(async () => {
    await client?.close();
    await ops?.close();
    await worker?.stop(1000);
    if (dbName) {
      const mongo = new MongoClient(inject("mongodbUri"));
      await mongo.db(dbName).dropDatabase().catch(() => undefined);
      await mongo.close();
    }
  });

  it("has PromQL that Prometheus's parser accepts", () => {
    expect(queries.length).toBeGreaterThan(20);
    // As recording rules, since promtool parses a rule's expression the way Prometheus does.
    const dir = mkdtempSync(join(tmpdir(), "runbus-dashboard-"));
    try {
      const rules = queries.map((q, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(q.expr)}\n`).join("");
      writeFileSync(join(dir, "rules.yml"), `groups:\n  - name: dashboard\n    rules:\n${rules}`);
      const check = promtool(["check", "rules", join(dir, "rules.yml")]);
      expect(check.status, check.output).toBe(0);
      expect(check.output).toContain(`SUCCESS: ${queries.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("queries only metrics the worker exports, with samples for every histogram", () => {
    const problems = queries.flatMap((q) => {
      const names = metricNames(q.expr);
      if (names.length === 0) return [`${q.where}: no metric found in ${q.expr}`];
      return names.flatMap((name) => {
        const why = missing(name, scrape);
        const empty = name.endsWith("_bucket") && !why && !scrape.samples.has(name) ? `${name}: no samples after a run` : null;
        return [why, empty].filter((p) => p !== null).map((p) => `${q.where}: ${p}`);
      });
    });
    expect(problems).toEqual([]);
  });

  it("matches, groups and names its series by labels those metrics have", () => {
    const problems = queries.flatMap((q) => {
      const names = metricNames(q.expr);
      const have = new Set(names.flatMap((name) => [...(scrape.samples.get(name) ?? [])]));
      const queried = queriedLabels(q.expr);
      // An aggregation keeps only its `by` labels; a plain selection keeps all, and the target's.
      const kept = AGGREGATION.test(q.expr) ? new Set(byLabels(q.expr)) : new Set([...have, ...TARGET_LABELS]);
      const legend = [...(q.legend ?? "").matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!);
      return [
        ...queried.filter((label) => !TARGET_LABELS.has(label) && !have.has(label)).map((label) => `${q.where}: no metric of ${names.join(", ")} has the label ${label}`),
        ...legend.filter((label) => !kept.has(label)).map((label) => `${q.where}: legend {{${label}}} is no label of its series`),
      ];
    });
    expect(problems).toEqual([]);
  });

  it("shows every runbus_ metric the worker exports", () => {
    const queried = new Set(queries.flatMap((q) => metricNames(q.expr)).map((name) => (missing(name, scrape) === null && !scrape.types.has(name) ? name.replace(/_(bucket|sum|count)$/, "") : name)));
    const exported = [...scrape.types.keys()].filter((name) => name.startsWith("runbus_"));
    expect(exported.length).toBeGreaterThanOrEqual(15);
    expect(exported.filter((name) => !queried.has(name))).toEqual([]);
  });

  it("scrapes as metrics promtool's linter accepts", () => {
    const check = promtool(["check", "metrics"], text);
    // 0: no problem; 3: lint problems only (1 would be a scrape it cannot parse).
    expect([0, 3], check.output).toContain(check.status);
    const problems = check.output.split("\n").map((line) => line.trim()).filter(Boolean);
    expect(problems.filter((problem) => !ALLOWED_LINT.has(problem))).toEqual([]);
  });
});
