#!/usr/bin/env node
import { Command } from "commander";
import { runDev } from "./dev.js";

const program = new Command()
  .name("runbus")
  .description("LangGraph.js runs as XState actors on Apache Kafka, with MongoDB as the durable store.");

program
  .command("dev")
  .description("run the bundled example graph on the embedded runtime (no server needed) and print its events")
  .option("-q, --question <text>", "what to ask the example agent", "What is a thread?")
  .option("-t, --thread <id>", "thread id", "dev-thread")
  .option("--token-delay <ms>", "pause between streamed words", (v) => Number(v), 25)
  .action(async (opts: { question: string; thread: string; tokenDelay: number }) => {
    process.exitCode = await runDev({ question: opts.question, thread: opts.thread, tokenDelayMs: opts.tokenDelay });
  });

await program.parseAsync(process.argv);
