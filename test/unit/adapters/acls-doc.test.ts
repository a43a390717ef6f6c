import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ACL_ROLES, aclsFor, kafkaAclsCommand } from "../../../src/adapters/kafka/acls.js";

const doc = readFileSync(join(import.meta.dirname, "../../../docs/security.md"), "utf8");

/** The rows of the table under `### <role>:` in docs/security.md. */
function documentedRows(role: string): string[][] {
  const section = doc.split(`### ${role}:`)[1]?.split("\n### ")[0]?.split("\n\n")[1] ?? "";
  return section
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("| resource") && !line.startsWith("| ---"))
    .map((line) => line.split("|").slice(1, -1).map((cell) => cell.trim()));
}

describe("the ACLs docs/security.md lists", () => {
  for (const role of ACL_ROLES) {
    it(`are exactly those the ${role} is given in the tests`, () => {
      const expected = aclsFor(role, "P").map((g) => [g.resource, g.pattern, `\`${g.name}\``, g.operation, g.required ? "required" : "optional", g.why]);
      expect(documentedRows(role)).toEqual(expected);
    });
  }

  it("never need a cluster ACL, and keep every group under the prefix", () => {
    for (const role of ACL_ROLES) {
      for (const grant of aclsFor(role, "tenant-a.")) expect(grant.name.startsWith("tenant-a.runbus")).toBe(true);
    }
  });

  it("print as kafka-acls.sh commands", () => {
    const [create] = aclsFor("worker", "tenant-a.");
    expect(kafkaAclsCommand(create!, "User:w")).toBe(
      "kafka-acls.sh --bootstrap-server $BOOTSTRAP --command-config admin.properties --add --allow-principal 'User:w' --operation Create --topic 'tenant-a.runbus.' --resource-pattern-type prefixed",
    );
  });
});
