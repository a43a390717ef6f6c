import { randomUUID } from "node:crypto";
import { context } from "@opentelemetry/api";
import type { Admin, Kafka, Producer } from "kafkajs";
import { createKafka } from "../adapters/kafka/client.js";
import { cloudEventHeaders } from "../adapters/kafka/cloud-events.js";
import { commitGroupStart } from "../adapters/kafka/group-start.js";
import { ResilientConsumer } from "../adapters/kafka/resilient-consumer.js";
import { withKafkaAccess } from "../adapters/kafka/security-errors.js";
import { Topics } from "../adapters/kafka/topics.js";
import { DEFAULT_STREAM_GAP_TIMEOUT_MS, type RunbusConfig } from "../config.js";
import { RunbusError, messageOf } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import type { CancelAction, CommandInput, RunCreateCommand } from "../protocol/commands.js";
import type { EndEvent } from "../protocol/events.js";
import { replySchema, type Reply } from "../protocol/replies.js";
import type { ThreadQuery, ThreadRecord } from "../ports.js";
import { readRun, type ReadOptions, type StreamedEvent } from "./run-reader.js";
import { traceHeaders } from "../ops/tracing.js";
import { SharedEventTap } from "./shared-event-tap.js";
import { ThreadReader } from "./thread-reader.js";

export interface ClientOptions {
  brokers: string[];
  topicPrefix?: string;
  eventTopicMode?: "per-run" | "shared";
  ssl?: boolean;
  /** CA bundle, client certificate and key files (RUNBUS_KAFKA_SSL_*); any file turns TLS on. */
  tls?: NonNullable<RunbusConfig["kafka"]>["tls"];
  sasl?: NonNullable<RunbusConfig["kafka"]>["sasl"];
  /** How long to wait for a worker's reply to a command. */
  replyTimeoutMs?: number;
  /**
   * How long a stream read waits for a missing seq once a later one has arrived, before it fails
   * with `stream_gap` (RUNBUS_STREAM_GAP_TIMEOUT_MS; default 30 s). A read's own `gapTimeoutMs` wins.
   */
  streamGapTimeoutMs?: number;
  /**
   * In shared event-topic mode, read the shared topic with one long-lived reader for the runs
   * `runs.createAndStream` creates (see SharedEventTap): for servers that stream many runs.
   */
  tapSharedEvents?: boolean;
  /** Where the workers keep threads, for `threads.get` and `threads.list`. */
  mongodb?: { uri: string; dbName?: string; tlsCAFile?: string };
  logger?: Logger;
}

export type RunCreateInput = Omit<Extract<CommandInput, { type: "run.create" }>, "type">;

/** How a paused thread goes on, beside the resume value: LangGraph's Command `goto` and `update`. */
export type ResumeOptions = Omit<RunCreateInput, "thread_id" | "input" | "command"> & {
  goto?: string | string[];
  update?: Record<string, unknown> | Array<[string, unknown]>;
};

export interface RunResult {
  run_id: string;
  status: EndEvent["status"];
  end: EndEvent;
  /** The last `values` chunk (the state), when the run streamed values. */
  values: unknown;
}

/**
 * A typed runbus client over Kafka: sends commands, awaits their replies, reads run streams.
 * Any Kafka producer can send commands; this one adds reply correlation and stream reading.
 */
export class RunbusClient {
  private readonly topics: Topics;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private repliesConsumer: ResilientConsumer | null = null;
  private readonly waiting = new Map<string, (reply: Reply) => void>();
  private readonly replyGroup: string;
  private connecting: Promise<void> | null = null;
  private opening: Promise<void> | null = null;
  private tap: SharedEventTap | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: ClientOptions,
  ) {
    this.topics = new Topics(options.topicPrefix ?? "");
    this.replyGroup = this.topics.readerGroup("client");
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.admin = kafka.admin();
  }

  readonly runs = {
    /** Sends `run.create`; resolves with the worker's reply (accepted or rejected, with the run id). */
    create: (input: RunCreateInput): Promise<Reply & { run_id: string }> => {
      const run_id = input.run_id ?? randomUUID();
      return this.send({ ...input, type: "run.create", run_id }) as Promise<Reply & { run_id: string }>;
    },
    /**
     * Resumes a thread paused on an interrupt: `value` is what the pending `interrupt()` returns
     * (for several, a map of interrupt id → value); `goto` and `update` steer or edit the thread as
     * LangGraph's Command does. The thread's graph runs unless `graph_id` says otherwise. A thread
     * that waits on no interrupt is rejected with `no_pending_interrupt` (when `value` is given).
     */
    resume: (threadId: string, value: unknown, options: ResumeOptions = {}): Promise<Reply & { run_id: string }> => {
      const { goto, update, ...rest } = options;
      const command = { ...(value !== undefined ? { resume: value } : {}), ...(goto !== undefined ? { goto } : {}), ...(update !== undefined ? { update } : {}) };
      return this.runs.create({ ...rest, thread_id: threadId, command });
    },
    /**
     * Creates a run and reads its events from the first one. With the shared-events tap, the watch
     * is in place before the command is sent, and the first of the run's records counts as its
     * admission if it comes before the worker's reply (the reply then has no disposition).
     * Iterate `events` to its end or call its `return()`: that releases the watch.
     */
    createAndStream: async (input: RunCreateInput, options: Omit<ReadOptions, "fromSeq"> = {}): Promise<{ reply: Reply & { run_id: string }; events: AsyncGenerator<StreamedEvent> }> => {
      await this.ready();
      const run_id = input.run_id ?? randomUUID();
      const command_id = input.command_id ?? randomUUID();
      const watch = this.tap?.watch(run_id);
      try {
        const replied = this.send({ ...input, type: "run.create", run_id, command_id }) as Promise<Reply & { run_id: string }>;
        let reply: Reply & { run_id: string };
        if (watch) {
          const first = await Promise.race([replied.then((r) => ({ r })), watch.admitted.then(() => null)]);
          if (first) reply = first.r;
          else {
            // Its records prove the run was admitted; the reply, when it comes, has nothing to add.
            replied.catch(() => undefined);
            reply = { command_id, run_id, thread_id: input.thread_id, accepted: true };
          }
        } else reply = await replied;
        if (!reply.accepted) {
          watch?.close();
          return { reply, events: noEvents() };
        }
        const gapTimeoutMs = options.gapTimeoutMs ?? this.options.streamGapTimeoutMs ?? DEFAULT_STREAM_GAP_TIMEOUT_MS;
        const events = watch ? watch.events({ gapTimeoutMs, ...(options.signal ? { signal: options.signal } : {}) }) : this.streamRun(run_id, options);
        return { reply, events };
      } catch (error) {
        watch?.close();
        throw error;
      }
    },
    /** The run's events in seq order from `fromSeq` (default 0), ending with `end`. */
    stream: (runId: string, options: ReadOptions = {}): AsyncGenerator<StreamedEvent> => this.streamRun(runId, options),
    cancel: (threadId: string, runId: string, action: CancelAction = "interrupt"): Promise<Reply> =>
      this.send({ type: "run.cancel", thread_id: threadId, run_id: runId, action }),
    /** Waits for the run to end (replaying from the start) and returns its final state. */
    join: async (runId: string, options: Omit<ReadOptions, "fromSeq"> = {}): Promise<RunResult> => {
      let values: unknown = undefined;
      for await (const event of this.runs.stream(runId, options)) {
        // LangGraph marks a pause with a values chunk of only `__interrupt__`: not the state.
        if (event.name === "values" && !isInterruptMarker(event.data)) values = event.data;
        if (event.name === "end") return { run_id: runId, status: (event.data as EndEvent).status, end: event.data as EndEvent, values };
      }
      throw new RunbusError("run_not_found", `Run ${runId}'s stream ended without an end event.`);
    },
    /** Creates a run and waits for its result; rejects when the run is not accepted. */
    wait: async (input: RunCreateInput): Promise<RunResult> => {
      const reply = await this.runs.create(input);
      if (!reply.accepted) throw new RunbusError((reply.code as never) ?? "invalid_command", reply.reason ?? "Run was rejected.");
      return this.runs.join(reply.run_id);
    },
  };

  readonly threads = {
    create: (threadId: string, metadata: Record<string, unknown> = {}, ifExists: "raise" | "do_nothing" = "raise"): Promise<Reply> =>
      this.send({ type: "thread.create", thread_id: threadId, metadata, if_exists: ifExists }),
    update: (threadId: string, metadata: Record<string, unknown>): Promise<Reply> =>
      this.send({ type: "thread.update", thread_id: threadId, metadata }),
    delete: (threadId: string, options: { force?: boolean } = {}): Promise<Reply> =>
      this.send({ type: "thread.delete", thread_id: threadId, force: options.force ?? false }),
    get: (threadId: string): Promise<ThreadRecord | undefined> => this.threadReader().get(threadId),
    /** Threads by status and metadata, most recently updated first, with limit and offset. */
    list: (query: ThreadQuery = {}): Promise<ThreadRecord[]> => this.threadReader().list(query),
  };

  private reader: ThreadReader | null = null;

  private threadReader(): ThreadReader {
    if (!this.options.mongodb) {
      throw new RunbusError("config_invalid", "Reading threads needs the client's `mongodb` option: threads live in the workers' MongoDB.");
    }
    this.reader ??= new ThreadReader(this.options.mongodb);
    return this.reader;
  }

  /**
   * Connects now rather than on the first command: the replies consumer's group join takes
   * seconds, which a server would otherwise add to its first request.
   */
  connect(): Promise<void> {
    return this.ready();
  }

  /** Resolves when the brokers answer (readiness). */
  async ping(): Promise<void> {
    await this.readable();
    await this.admin.describeCluster();
  }

  /** Sends any command and resolves with its reply. */
  async send(command: CommandInput): Promise<Reply> {
    await this.ready();
    const command_id = command.command_id ?? randomUUID();
    const timeoutMs = this.options.replyTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const reply = new Promise<Reply>((resolve, reject) => {
      timer = setTimeout(() => {
        this.waiting.delete(command_id);
        reject(new RunbusError("kafka_unreachable", `No reply to ${command.type} ${command_id} within ${timeoutMs} ms; is a runbus worker running?`, { retryable: true }));
      }, timeoutMs);
      this.waiting.set(command_id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    try {
      await withKafkaAccess(`Write on topic ${this.topics.commands}`, () => this.producer.send({
        topic: this.topics.commands,
        acks: -1,
        messages: [
          {
            key: command.thread_id,
            value: JSON.stringify({ ...command, command_id }),
            // The caller's trace, if any: the worker's spans for the command continue it.
            headers: cloudEventHeaders({ type: `runbus.command.${command.type}`, source: "runbus/client", subject: command.thread_id, extra: traceHeaders(context.active()) }),
          },
        ],
      }));
    } catch (error) {
      // Nobody will await the reply of a command that was not sent: its timer would reject unobserved.
      clearTimeout(timer);
      this.waiting.delete(command_id);
      throw error;
    }
    return reply;
  }

  async close(): Promise<void> {
    await this.tap?.stop();
    await this.reader?.close().catch(() => undefined);
    await this.repliesConsumer?.stop().catch(() => undefined);
    await this.admin.deleteGroups([this.replyGroup]).catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }

  private async *streamRun(runId: string, options: ReadOptions): AsyncGenerator<StreamedEvent> {
    await this.readable();
    const { streamGapTimeoutMs } = this.options;
    const read = { ...(streamGapTimeoutMs !== undefined ? { gapTimeoutMs: streamGapTimeoutMs } : {}), ...options };
    yield* readRun(this.kafka, this.admin, this.topics, runId, this.options.eventTopicMode ?? "per-run", read);
  }

  /** Connected for sending commands and awaiting their replies. A failed attempt is made again on the next call. */
  private ready(): Promise<void> {
    this.connecting ??= this.establish().catch((error: unknown) => {
      this.connecting = null;
      throw error;
    });
    return this.connecting;
  }

  /**
   * Connected for reading run topics only: a principal that only reads (ACL role `reader`) has no
   * Write on any topic, which an idempotent producer needs, and no group for replies.
   */
  private readable(): Promise<void> {
    this.opening ??= withKafkaAccess("connect (authenticate)", () => this.admin.connect()).catch((error: unknown) => {
      this.opening = null;
      throw error;
    });
    return this.opening;
  }

  private async establish(): Promise<void> {
    await Promise.all([
      this.readable(),
      // An idempotent producer is allowed by Write on some topic: here, the commands topic.
      withKafkaAccess(`connect a producer (Write on topic ${this.topics.commands})`, () => this.producer.connect()),
    ]);
    // Kept consuming through a broker restart (see ResilientConsumer); its group's committed offsets
    // let a replacement go on where the last one stopped.
    const consumer = new ResilientConsumer({
      what: this.topics.replies,
      group: this.replyGroup,
      logger: this.options.logger ?? silentLogger(),
      create: () => this.kafka.consumer({ groupId: this.replyGroup, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100 }),
      setup: async (kafkaConsumer) => {
        await kafkaConsumer.subscribe({ topic: this.topics.replies, fromBeginning: false });
        await kafkaConsumer.run({
          eachMessage: async ({ message }) => {
            const parsed = replySchema.safeParse(JSON.parse(message.value?.toString() ?? "null"));
            if (!parsed.success || !parsed.data.command_id) return;
            this.waiting.get(parsed.data.command_id)?.(parsed.data);
            this.waiting.delete(parsed.data.command_id);
          },
        });
      },
    });
    this.repliesConsumer = consumer;
    await this.startRepliesAtEnd();
    // Replies sent before the group has joined would be missed: send nothing until then.
    await Promise.all([consumer.start(), this.startTap()]);
  }

  private async startTap(): Promise<void> {
    if (!this.options.tapSharedEvents || this.options.eventTopicMode !== "shared") return;
    const logger = this.options.logger ?? silentLogger();
    const tap = new SharedEventTap(this.kafka, this.admin, this.topics, logger);
    try {
      await tap.start();
      this.tap = tap;
    } catch (error) {
      // Streams still work without it, each with a reader of its own.
      logger.warn({ err: messageOf(error) }, "the shared run-events tap did not start; each stream reads the topic itself");
      await tap.stop();
    }
  }

  /**
   * Commits the replies topic's current end offsets for this client's fresh group. A group that
   * starts from "latest" resolves that offset only at its first fetch, after the join: a reply
   * written in between would be skipped. Starting from offsets taken before any command is sent
   * leaves no such gap.
   */
  private async startRepliesAtEnd(): Promise<void> {
    const topic = this.topics.replies;
    const ends = await this.repliesEnd(topic);
    // No replies topic yet: no worker has started, and the consumer's own reset has to do.
    if (!ends) return;
    await commitGroupStart(this.admin, this.replyGroup, topic, ends.map(({ partition, offset }) => ({ partition, offset })));
  }

  /**
   * The replies topic's end offsets; null when the topic does not exist. kafkajs answers a read of
   * a topic created a moment ago (metadata without its leader yet) with an error, even a TypeError
   * from inside, so a failed read is tried again before the topic counts as missing: giving up at
   * once would leave the first reply to the consumer's own reset, which can skip it.
   */
  private async repliesEnd(topic: string): Promise<Array<{ partition: number; offset: string }> | null> {
    for (let tries = 1; ; tries++) {
      try {
        return await this.admin.fetchTopicOffsets(topic);
      } catch (error) {
        if (tries >= REPLIES_END_TRIES) {
          (this.options.logger ?? silentLogger()).debug({ topic, err: messageOf(error) }, "no end offsets for the replies topic; starting from its latest");
          return null;
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * tries));
      }
    }
  }
}

/** Reads of the replies topic's end offsets before it counts as missing (see repliesEnd). */
const REPLIES_END_TRIES = 4;

async function* noEvents(): AsyncGenerator<StreamedEvent> {}

function isInterruptMarker(data: unknown): boolean {
  return typeof data === "object" && data !== null && !Array.isArray(data) && Object.keys(data).length === 1 && "__interrupt__" in data;
}

/** A client for the given brokers. */
export function createClient(options: ClientOptions): RunbusClient {
  const logger = options.logger ?? silentLogger();
  const kafka = createKafka(
    {
      brokers: options.brokers,
      clientId: "runbus-client",
      ssl: options.ssl ?? false,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.sasl ? { sasl: options.sasl } : {}),
    },
    logger,
  );
  return new RunbusClient(kafka, options);
}

export type { StreamedEvent, ReadOptions, RunCreateCommand };
