import type { Kafka } from "kafkajs";
import { messageOf } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { runCancelSchema, type RunCancelCommand } from "../../protocol/commands.js";
import type { BatchingProducer } from "./batching-producer.js";
import { ResilientConsumer } from "./resilient-consumer.js";
import { cloudEventHeaders } from "./cloud-events.js";
import type { Topics } from "./topics.js";

/**
 * Cancels travel on `runbus.control`, which every worker reads in a group of its own, so a
 * cancel reaches the run wherever it executes, also after the command partitions moved.
 */
export class KafkaControlChannel {
  private consumer: ResilientConsumer | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly producer: BatchingProducer,
    private readonly topics: Topics,
    private readonly options: { workerId: string; source: string; groupPrefix: string; logger: Logger },
  ) {}

  publish(cancel: RunCancelCommand): Promise<void> {
    return this.producer.send(this.topics.control, {
      key: cancel.run_id,
      value: JSON.stringify(cancel),
      headers: cloudEventHeaders({ type: "runbus.command.run.cancel", source: this.options.source, subject: cancel.thread_id }),
    });
  }

  /** Starts reading; resolves once the consumer has joined, so no later cancel is missed. */
  async start(onCancel: (cancel: RunCancelCommand) => Promise<void>): Promise<void> {
    const groupId = `${this.options.groupPrefix}runbus-control-${this.options.workerId}`;
    const consumer = new ResilientConsumer({
      what: this.topics.control,
      group: groupId,
      logger: this.options.logger,
      create: () => this.kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 500 }),
      setup: async (kafkaConsumer) => {
        await kafkaConsumer.subscribe({ topic: this.topics.control, fromBeginning: false });
        await kafkaConsumer.run({
          eachMessage: async ({ message }) => {
            try {
              const cancel = runCancelSchema.parse(JSON.parse(message.value?.toString() ?? "null"));
              await onCancel(cancel);
            } catch (error) {
              this.options.logger.warn({ offset: message.offset, err: messageOf(error) }, "ignored an unreadable control record");
            }
          },
        });
      },
    });
    this.consumer = consumer;
    await consumer.start();
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = null;
  }
}
