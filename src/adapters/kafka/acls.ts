import { Topics } from "./topics.js";

/** Who talks to Kafka for runbus, each with its own principal. */
export const ACL_ROLES = ["worker", "gateway", "producer", "reader", "auditor"] as const;
export type AclRole = (typeof ACL_ROLES)[number];

/** One Kafka ACL (ALLOW, any host), in the terms of kafka-acls.sh. */
export interface AclGrant {
  resource: "topic" | "group";
  pattern: "literal" | "prefixed";
  name: string;
  operation: "read" | "write" | "create" | "delete";
  /** Whether runbus fails without it; the others save the broker leftover groups, or work. */
  required: boolean;
  why: string;
}

/**
 * The least Kafka ACLs each role needs under `prefix` (RUNBUS_TOPIC_PREFIX). Read, Write, Delete
 * and Create imply Describe, so Describe is never listed. No role needs a cluster ACL: topics are
 * created under the topic prefix (Create on a prefixed topic pattern), and idempotent producers
 * are allowed by Write on a topic (Kafka 3.0 and later).
 * Every consumer group id runbus makes starts with the prefix and `runbus-<kind>-`, so prefixed
 * group ACLs isolate tenants.
 */
export function aclsFor(role: AclRole, prefix: string): AclGrant[] {
  const t = new Topics(prefix);
  const topic = (pattern: AclGrant["pattern"], name: string, operation: AclGrant["operation"], why: string, required = true): AclGrant =>
    ({ resource: "topic", pattern, name, operation, required, why });
  const group = (name: string, operation: AclGrant["operation"], why: string, required = true): AclGrant =>
    ({ resource: "group", pattern: "prefixed", name, operation, required, why });
  const runTopics = `${prefix}runbus.run`;
  switch (role) {
    case "worker":
      return [
        topic("prefixed", `${prefix}runbus.`, "create", "the fixed topics at start, a run's topic on admission"),
        topic("prefixed", `${prefix}runbus.`, "write", "events, replies, audit records, dead letters, control records"),
        topic("prefixed", `${prefix}runbus.`, "read", "commands, control records, a run topic's last seq after a takeover"),
        topic("prefixed", `${prefix}runbus.`, "delete", "the janitor deletes run topics past their retention"),
        group(`${prefix}runbus-`, "read", "the workers' group, its own control group, seq-scan groups"),
        group(`${prefix}runbus-`, "delete", "seq-scan groups are deleted after use", false),
      ];
    case "gateway":
      return [
        topic("literal", t.commands, "write", "commands"),
        topic("literal", t.replies, "read", "replies to its commands"),
        topic("prefixed", runTopics, "read", "run topics and the shared run-events topic"),
        group(`${prefix}runbus-client-`, "read", "its replies group"),
        group(`${prefix}runbus-reader-`, "read", "one group per streamed run"),
        group(`${prefix}runbus-tap-`, "read", "shared mode: one reader of the shared topic for all streams (without it, each stream reads it alone)", false),
        group(`${prefix}runbus-client-`, "delete", "its replies group is deleted when it closes", false),
        group(`${prefix}runbus-reader-`, "delete", "a stream's group is deleted when it ends", false),
        group(`${prefix}runbus-tap-`, "delete", "the shared reader's group is deleted when it closes", false),
      ];
    case "producer":
      return [
        topic("literal", t.commands, "write", "commands"),
        topic("literal", t.replies, "read", "replies (a producer that awaits them)"),
        group(`${prefix}runbus-client-`, "read", "its replies group"),
        group(`${prefix}runbus-client-`, "delete", "its replies group is deleted when it closes", false),
      ];
    case "reader":
      return [
        topic("prefixed", runTopics, "read", "run topics and the shared run-events topic"),
        group(`${prefix}runbus-reader-`, "read", "one group per read run"),
        group(`${prefix}runbus-reader-`, "delete", "a read's group is deleted when it ends", false),
      ];
    case "auditor":
      return [
        topic("literal", t.transitions, "read", "the audit topic"),
        group(`${prefix}runbus-audit-`, "read", "one group per audit read"),
        group(`${prefix}runbus-audit-`, "delete", "an audit read's group is deleted when it ends", false),
      ];
  }
}

/** The kafka-acls.sh command that grants `acl` to `principal` (e.g. User:worker). */
export function kafkaAclsCommand(acl: AclGrant, principal: string, bootstrap = "$BOOTSTRAP"): string {
  const resource = acl.resource === "topic" ? `--topic '${acl.name}'` : `--group '${acl.name}'`;
  return (
    `kafka-acls.sh --bootstrap-server ${bootstrap} --command-config admin.properties --add --allow-principal '${principal}' ` +
    `--operation ${capitalize(acl.operation)} ${resource} --resource-pattern-type ${acl.pattern}`
  );
}

function capitalize(word: string): string {
  return word[0]!.toUpperCase() + word.slice(1);
}
