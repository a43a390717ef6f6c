import { SpanKind } from "@opentelemetry/api";
import type { Consumer, EachMessagePayload, Kafka } from "kafkajs";
import type { ErrorCode } from "../../errors.js";
import { isRunbusError, messageOf } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { parseCommand, salvageIds } from "../../protocol/parse-command.js";
import type { Command } from "../../protocol/commands.js";
import type { Reply } from "../../protocol/replies.js";
import type { ReplySink } from "../../ports.js";
import type { DeadLetterWriter } from "./dead-letters.js";
import { contextFromHeaders, tracer } from "../../ops/tracing.js";
import { readHeaders } from "./cloud-events.js";
import { ResilientConsumer } from "./resilient-consumer.js";
import type { Topics } from "./topics.js";

/** Rejections that mean the record itself is not a valid command: they go to the dead letters. */
const DEAD_LETTER_CODES: ReadonlySet<string> = new Set<ErrorCode>(["invalid_json", "invalid_command", "command_too_large", "json_too_deep", "unknown_graph", "unsupported_stream_mode"]);

export interface CommandTarget {
  /** Handles a valid command and sends its reply. */
  handle(command: Command): Promise<Reply>;
}

/**
 * Reads `runbus.commands` in the workers' consumer group. A command's offset is committed only
 * after its effect is durable (the reply sent, the run stored and admitted); a bad record goes to
 * the dead letters with a reply, and the consumer moves on.
 */
export class KafkaCommandConsumer {
  private consumer: ResilientConsumer | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly topics: Topics,
    private readonly deps: {
      target: CommandTarget;
      replies: ReplySink;
      deadLetters: DeadLetterWriter;
      logger: Logger;
      /** Told of each command answered (its type, `accepted` or the error code, seconds since its record's timestamp) and each dead letter (metrics). */
      observe?: { handled(command: string, outcome: string, seconds: number): void; deadLettered(code: string): void };
    },
    private readonly options: { groupId: string; maxBytes: number; concurrency: number },
  ) {}

  /** Whether the consumer is in its group now (readiness). */
  joined = false;
  /** When the consumer last heartbeat to its group (liveness), or joined. */
  lastHeartbeatAt: number | null = null;

  async start(): Promise<void> {
    const consumer = new ResilientConsumer({
      what: this.topics.commands,
      group: this.options.groupId,
      logger: this.deps.logger,
      // A short fetch wait keeps stop() prompt: disconnect waits for the fetch under way.
      create: () => this.kafka.consumer({ groupId: this.options.groupId, sessionTimeout: 15_000, heartbeatInterval: 1000, maxWaitTimeInMs: 500 }),
      setup: async (kafkaConsumer) => {
        const { events } = kafkaConsumer;
        kafkaConsumer.on(events.GROUP_JOIN, () => {
          this.joined = true;
          this.lastHeartbeatAt = Date.now();
        });
        kafkaConsumer.on(events.HEARTBEAT, () => (this.lastHeartbeatAt = Date.now()));
        for (const left of [events.CRASH, events.STOP, events.DISCONNECT]) kafkaConsumer.on(left, () => (this.joined = false));
        await kafkaConsumer.subscribe({ topic: this.topics.commands, fromBeginning: true });
        await kafkaConsumer.run({
          autoCommit: false,
          partitionsConsumedConcurrently: this.options.concurrency,
          eachMessage: (payload) => this.consume(kafkaConsumer, payload),
        });
      },
    });
    this.consumer = consumer;
    await consumer.start();
  }

  /** Stops taking commands; in-flight ones finish and are committed first. */
  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = null;
  }

  private async consume(consumer: Consumer, { topic, partition, message }: EachMessagePayload): Promise<void> {
    const raw = message.value ?? Buffer.alloc(0);
    let command: Command;
    try {
      command = parseCommand(raw, { maxBytes: this.options.maxBytes });
    } catch (error) {
      const code: ErrorCode = isRunbusError(error) ? error.code : "invalid_command";
      const reason = messageOf(error);
      await this.deps.deadLetters.write({ topic, partition, message }, code, reason);
      this.deps.observe?.deadLettered(code);
      const ids = raw.length <= this.options.maxBytes ? salvageIds(raw) : {};
      await this.deps.replies.reply({ command_id: ids.commandId ?? null, thread_id: ids.threadId ?? null, accepted: false, code, reason });
      this.deps.logger.warn({ partition, offset: message.offset, code }, "dead-lettered an invalid command");
      return this.commit(consumer, topic, partition, message.offset);
    }

    const reply = await this.admit(command, message.headers);
    this.deps.observe?.handled(command.type, reply.accepted ? "accepted" : (reply.code ?? "rejected"), (Date.now() - Number(message.timestamp)) / 1000);
    if (!reply.accepted && reply.code && DEAD_LETTER_CODES.has(reply.code)) {
      await this.deps.deadLetters.write({ topic, partition, message }, reply.code as ErrorCode, reply.reason ?? reply.code);
      this.deps.observe?.deadLettered(reply.code);
    }
    await this.commit(consumer, topic, partition, message.offset);
  }

  /**
   * Handles a command within a span that continues the trace of its record's `traceparent` (or
   * `ce_traceparent`): the run it admits, and everything the run does, belong to that trace.
   */
  private admit(command: Command, headers: EachMessagePayload["message"]["headers"]): Promise<Reply> {
    const parent = contextFromHeaders(readHeaders(headers));
    return tracer().startActiveSpan(
      `runbus admit ${command.type}`,
      { kind: SpanKind.CONSUMER, attributes: { "runbus.command": command.type, "runbus.thread_id": command.thread_id, ...("run_id" in command && command.run_id ? { "runbus.run_id": command.run_id } : {}) } },
      parent,
      async (span) => {
        try {
          const reply = await this.deps.target.handle(command);
          span.setAttribute("runbus.accepted", reply.accepted);
          if (!reply.accepted) span.setAttribute("runbus.code", reply.code ?? "rejected");
          return reply;
        } finally {
          span.end();
        }
      },
    );
  }

  private async commit(consumer: Consumer, topic: string, partition: number, offset: string): Promise<void> {
    await consumer.commitOffsets([{ topic, partition, offset: (BigInt(offset) + 1n).toString() }]);
  }
}
