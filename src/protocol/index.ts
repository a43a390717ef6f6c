export * from "./ids.js";
export * from "./commands.js";
export * from "./parse-command.js";
export * from "./run-status.js";
export * from "./events.js";
export * from "./audit.js";
export * from "./replies.js";
