import { ACL_ROLES, aclsFor, kafkaAclsCommand, type AclRole } from "../adapters/kafka/acls.js";
import { loadConfig } from "../config.js";
import { RunbusError } from "../errors.js";
import { EXIT_OK } from "./context.js";

/**
 * `runbus acls <role> <principal>`: the kafka-acls.sh commands that grant a role exactly what it
 * needs under RUNBUS_TOPIC_PREFIX (docs/security.md); `--required` leaves out the optional ones.
 */
export function aclsCommand(role: string, principal: string, options: { required?: boolean } = {}): number {
  if (!(ACL_ROLES as readonly string[]).includes(role)) {
    throw new RunbusError("config_invalid", `Unknown role '${role}': use one of ${ACL_ROLES.join(", ")}.`);
  }
  if (!/^[A-Za-z]+:.+/.test(principal)) throw new RunbusError("config_invalid", `'${principal}' is not a Kafka principal: write it as User:<name>.`);
  const grants = aclsFor(role as AclRole, loadConfig().topicPrefix).filter((g) => g.required || !options.required);
  const lines = grants.map((g) => `# ${g.operation} on ${g.resource} ${g.name}${g.pattern === "prefixed" ? "*" : ""}: ${g.why}${g.required ? "" : " (optional)"}\n${kafkaAclsCommand(g, principal)}`);
  process.stdout.write(`${lines.join("\n")}\n`);
  return EXIT_OK;
}
