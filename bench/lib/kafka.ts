/**
 * The driver's side of Kafka, as a service using runbus would have it: a plain producer of
 * `run.create` records (any producer is a valid one, DESIGN §4.1) and one long-lived consumer on
 * the shared run-events, audit and reply topics, so no per-run consumer-group join is timed.
 */
import { randomUUID } from "node:crypto";
import { Kafka, logLevel, type Consumer, type Producer } from "kafkajs";
import { cloudEventHeaders, readHeaders } from "../../src/adapters/kafka/cloud-events.js";
import { Topics } from "../../src/adapters/kafka/topics.js";
import type { CommandInput } from "../../src/protocol/commands.js";
import { isTerminalRunStatus } from "../../src/protocol/run-status.js";

export function benchKafka(brokers: string[], clientId = "runbus-bench"): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, retries: 8 } });
}

export type RunCreate = Omit<Extract<CommandInput, { type: "run.create" }>, "type"> & { run_id: string };

/** What the driver saw of one run; driver times are performance.now(), worker stamps are epoch ms. */
export interface RunTiming {
  runId: string;
  /** performance.now() just before the record was handed to the producer. */
  t0: number;
  /** Date.now() at t0, to place the worker's event timestamps (`ce_time`) on the same axis. */
  wall0: number;
  metadata?: number;
  firstValues?: number;
  firstMessages?: number;
  lastMessages?: number;
  messages: number;
  running?: number;
  end?: number;
  terminal?: number;
  /** The thread's release (audit record `released:<run_id>`): the worker is done with the run. */
  released?: number;
  status?: string;
  /** The worker's own stamps (ms since t0): when it emitted metadata and the first values. */
  workerMetadataAt?: number;
  workerValuesAt?: number;
  workerRunningAt?: number;
  rejected?: string;
}

interface Pending {
  timing: RunTiming;
  /** Resolves once the release is seen, and in shared mode the `end` too (two topics: either can come first). */
  settle: () => void;
  fail: (error: Error) => void;
}

/** Produces run.create commands and follows the runs they start on the shared topics. */
export class RunDriver {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly consumer: Consumer;
  private readonly topics: Topics;
  private readonly runs = new Map<string, Pending>();
  private readonly groupId = `runbus-bench-${randomUUID()}`;
  /** Called for every run event of the shared topic (the streaming benchmark counts chunks). */
  onEvent: ((runId: string, name: string, at: number) => void) | null = null;

  constructor(
    brokers: string[],
    prefix: string,
    private readonly mode: "per-run" | "shared",
  ) {
    this.kafka = benchKafka(brokers);
    this.topics = new Topics(prefix);
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.consumer = this.kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 100, sessionTimeout: 30_000, heartbeatInterval: 3000 });
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.consumer.connect();
    const topics = [this.topics.transitions, this.topics.replies, ...(this.mode === "shared" ? [this.topics.sharedRunEvents] : [])];
    await this.consumer.subscribe({ topics, fromBeginning: false });
    const joined = new Promise<void>((resolve) => this.consumer.on(this.consumer.events.GROUP_JOIN, () => resolve()));
    await this.consumer.run({
      eachMessage: async ({ topic, message }) => {
        const now = performance.now();
        if (topic === this.topics.sharedRunEvents) this.onRunEvent(readHeaders(message.headers), now);
        else if (topic === this.topics.transitions) this.onTransition(message.value, now);
        else this.onReply(message.value);
      },
    });
    await joined;
    // A fresh group starts at the latest offsets; give the fetch loop a moment to sit on them.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  /**
   * Sends run.create and resolves with what was seen once the worker is done with the run: the
   * audit record of its thread's release, which comes after `end` in both topic modes (per-run
   * topics are not read by this consumer; the audit topic is).
   * `headers`: more record headers, such as a W3C `traceparent`.
   */
  run(command: RunCreate, headers: Record<string, string> = {}): Promise<RunTiming> {
    const timing: RunTiming = { runId: command.run_id, t0: 0, wall0: 0, messages: 0 };
    const done = new Promise<RunTiming>((resolve, reject) => {
      this.runs.set(command.run_id, {
        timing,
        settle: () => resolve(timing),
        fail: reject,
      });
    });
    timing.t0 = performance.now();
    timing.wall0 = Date.now();
    this.producer
      .send({
        topic: this.topics.commands,
        acks: -1,
        messages: [
          {
            key: command.thread_id,
            value: JSON.stringify({ ...command, type: "run.create", command_id: randomUUID() }),
            headers: cloudEventHeaders({ type: "runbus.command.run.create", source: "runbus/bench", subject: command.thread_id, extra: headers }),
          },
        ],
      })
      .catch((error: unknown) => this.runs.get(command.run_id)?.fail(error as Error));
    return done.finally(() => this.runs.delete(command.run_id));
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
    const admin = this.kafka.admin();
    await admin.connect().catch(() => undefined);
    await admin.deleteGroups([this.groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }

  private onRunEvent(headers: Record<string, string>, now: number): void {
    const runId = headers.runbus_run_id ?? "";
    const name = headers.runbus_event ?? "";
    this.onEvent?.(runId, name, now);
    const pending = this.runs.get(runId);
    if (!pending) return;
    const t = pending.timing;
    const at = headers.ce_time ? Date.parse(headers.ce_time) - t.wall0 : undefined;
    if (name === "metadata" && t.metadata === undefined) {
      t.metadata = now - t.t0;
      t.workerMetadataAt = at;
    } else if (name === "values" && t.firstValues === undefined) {
      t.firstValues = now - t.t0;
      t.workerValuesAt = at;
    } else if (name === "messages") {
      t.firstMessages ??= now - t.t0;
      t.lastMessages = now - t.t0;
      t.messages += 1;
    } else if (name === "end") {
      t.end = now - t.t0;
      if (t.released !== undefined) pending.settle();
    }
  }

  private onTransition(value: Buffer | null, now: number): void {
    const record = JSON.parse(value?.toString() ?? "null") as { kind: string; id: string; to: string; at: string; cause: string } | null;
    if (!record) return;
    if (record.kind === "thread") {
      const [what, runId] = record.cause.split(":");
      const pending = what === "released" && runId ? this.runs.get(runId) : undefined;
      if (pending) {
        pending.timing.released = now - pending.timing.t0;
        if (this.mode !== "shared" || pending.timing.end !== undefined) pending.settle();
      }
      return;
    }
    if (record.kind !== "run") return;
    const pending = this.runs.get(record.id);
    if (!pending) return;
    const t = pending.timing;
    if (record.to === "running") {
      t.running = now - t.t0;
      t.workerRunningAt = Date.parse(record.at) - t.wall0;
    } else if (isTerminalRunStatus(record.to as never)) {
      t.terminal = now - t.t0;
      t.status = record.to;
    }
  }

  private onReply(value: Buffer | null): void {
    const reply = JSON.parse(value?.toString() ?? "null") as { run_id?: string; accepted: boolean; reason?: string; code?: string } | null;
    if (!reply || reply.accepted || !reply.run_id) return;
    const pending = this.runs.get(reply.run_id);
    if (!pending) return;
    pending.timing.rejected = `${reply.code}: ${reply.reason}`;
    pending.fail(new Error(`run ${reply.run_id} rejected: ${reply.code}: ${reply.reason}`));
  }
}
