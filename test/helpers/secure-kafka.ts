import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes, type AclEntry, type Admin } from "kafkajs";
import { inject } from "vitest";
import type { AclGrant } from "../../src/adapters/kafka/acls.js";
import type { KafkaSettings } from "../../src/adapters/kafka/client.js";
import { createLogger, type Logger } from "../../src/logger.js";

/**
 * The secured listeners of the local test broker (tools/kafka/start.sh with RUNBUS_KAFKA_SECURE=1).
 * The harness offers them only when it started the broker itself; a broker from
 * RUNBUS_KAFKA_BROKERS or Docker has none, and then every security test fails with this message
 * rather than passing without having proved anything.
 */
export function secureKafka() {
  const secure = inject("secureKafka");
  if (!secure) {
    throw new Error(
      "No secured Kafka listeners: these tests need the local test broker (tools/kafka/start.sh with RUNBUS_KAFKA_SECURE=1), " +
        "but the broker came from RUNBUS_KAFKA_BROKERS or Docker, which offer no SASL_SSL or mTLS listener. Unset RUNBUS_KAFKA_BROKERS.",
    );
  }
  return secure;
}

/** How `user` reaches the broker: SASL_SSL with SCRAM-SHA-512, the broker verified against the test CA. */
export function saslSettings(user: string, mechanism: "plain" | "scram-sha-256" | "scram-sha-512" = "scram-sha-512"): KafkaSettings {
  const secure = secureKafka();
  const password = secure.users[user];
  if (password === undefined) throw new Error(`No SCRAM user ${user} on the test broker.`);
  return { brokers: [secure.saslSsl], ssl: true, tls: { caFile: secure.caFile, rejectUnauthorized: true }, sasl: { mechanism, username: user, password } };
}

/** How `user` reaches the broker with its client certificate (mTLS); its principal is User:<user>. */
export function mtlsSettings(user: string): KafkaSettings {
  const secure = secureKafka();
  const cert = secure.clientCerts[user];
  if (!cert) throw new Error(`No client certificate for ${user} on the test broker.`);
  return { brokers: [secure.ssl], ssl: true, tls: { caFile: secure.caFile, certFile: cert.certFile, keyFile: cert.keyFile, rejectUnauthorized: true } };
}

/** An admin on the plaintext listener, whose principal (ANONYMOUS) is a super user: it grants and revokes ACLs. */
export async function superAdmin(): Promise<Admin> {
  const admin = new Kafka({ clientId: "acl-admin", brokers: inject("kafkaBrokers"), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  return admin;
}

function aclEntry(principal: string, grant: AclGrant): AclEntry {
  return {
    principal,
    host: "*",
    permissionType: AclPermissionTypes.ALLOW,
    resourceType: grant.resource === "topic" ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
    resourceName: grant.name,
    resourcePatternType: grant.pattern === "prefixed" ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
    operation: { read: AclOperationTypes.READ, write: AclOperationTypes.WRITE, create: AclOperationTypes.CREATE, delete: AclOperationTypes.DELETE }[grant.operation],
  };
}

/**
 * Grants and revokes ACLs, and waits until the broker applies them: with KRaft the authorizer
 * learns of an ACL when the broker replays the metadata record, a moment after CreateAcls returns.
 */
export class Acls {
  constructor(private readonly admin: Admin) {}

  async grant(principal: string, grants: AclGrant[]): Promise<void> {
    await this.admin.createAcls({ acl: grants.map((g) => aclEntry(principal, g)) });
    await this.settle(principal, (listed) => grants.every((g) => holds(listed, aclEntry(principal, g))));
  }

  async revoke(principal: string, grants: AclGrant[]): Promise<void> {
    await this.admin.deleteAcls({ filters: grants.map((g) => aclEntry(principal, g)) });
    await this.settle(principal, (listed) => grants.every((g) => !holds(listed, aclEntry(principal, g))));
  }

  async revokeAll(principal: string): Promise<void> {
    await this.admin.deleteAcls({
      filters: [
        {
          principal,
          resourceType: AclResourceTypes.ANY,
          resourcePatternType: ResourcePatternTypes.ANY,
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ANY,
        },
      ],
    });
    await this.settle(principal, (listed) => listed.length === 0);
  }

  private async settle(principal: string, done: (listed: AclEntry[]) => boolean): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { resources } = await this.admin.describeAcls({
        principal,
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      });
      const listed = resources.flatMap((r) => r.acls.map((acl) => ({ ...acl, resourceType: r.resourceType, resourceName: r.resourceName, resourcePatternType: r.resourcePatternType })));
      if (done(listed)) break;
      if (Date.now() > deadline) throw new Error(`The ACLs of ${principal} did not settle: ${JSON.stringify(listed)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // DescribeAcls answers from the controller's view; the broker's authorizer applies the same
    // record from its metadata log an instant later (one process here, but not one thread).
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** Whether `listed` holds `acl` (same resource, pattern, operation and principal). */
function holds(listed: AclEntry[], acl: AclEntry): boolean {
  return listed.some(
    (l) => l.resourceType === acl.resourceType && l.resourceName === acl.resourceName && l.resourcePatternType === acl.resourcePatternType && l.operation === acl.operation && l.principal === acl.principal,
  );
}

/** The error `work` rejects with; fails the test when it resolves. */
export async function rejectionOf(work: () => Promise<unknown>): Promise<Error & { code?: string | number; type?: string }> {
  try {
    await work();
  } catch (error) {
    return error as Error & { code?: string | number; type?: string };
  }
  throw new Error("expected a failure");
}

/** A runbus logger whose lines (parsed) collect in `lines`, for tests that look for an error or a secret in the logs. */
export function capturingLogger(level = "info"): { logger: Logger; lines: Array<Record<string, unknown>>; text: () => string } {
  const raw: string[] = [];
  // runbus's own logger (its redaction included), writing here.
  const logger = createLogger({ level, destination: { write: (line: string) => void raw.push(line) } });
  return {
    logger,
    get lines() {
      return raw.flatMap((text) => text.split("\n").filter(Boolean)).map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    text: () => raw.join(""),
  };
}
