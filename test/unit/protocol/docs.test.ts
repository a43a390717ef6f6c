import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DiagnosticSeverity, Parser, fromFile, type AsyncAPIDocumentInterface, type Diagnostic } from "@asyncapi/parser";
import Ajv from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { PROTOCOL_DOC, SCHEMA_DIR, generatedSectionOf, renderGeneratedSection, schemaFiles } from "../../../scripts/gen-protocol-docs.js";
import { Topics } from "../../../src/adapters/kafka/topics.js";
import { RUN_INITIAL_STATUS, RUN_TRANSITIONS } from "../../../src/machines/run-path.js";
import { commandSchema } from "../../../src/protocol/commands.js";
import { ID_PATTERN } from "../../../src/protocol/ids.js";
import { PROTOCOL_MESSAGES, WIRE_ERROR_CODES, protocolJsonSchemas, type JsonSchema } from "../../../src/protocol/json-schema.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const REGENERATE = "run `npm run docs:protocol`";
const ASYNCAPI = join(root, "docs/asyncapi.yaml");
const DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema";
const PAYLOAD_FORMAT = "application/schema+json;version=draft-2020-12";

function isObject(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every field of a schema, nested ones as `parent.child`, with its subschema. */
function fieldsOf(schema: JsonSchema, prefix = ""): [string, JsonSchema][] {
  const properties = isObject(schema.properties) ? schema.properties : {};
  return Object.entries(properties).flatMap(([name, sub]) => {
    const field = isObject(sub) ? sub : {};
    return [[`${prefix}${name}`, field] as [string, JsonSchema], ...fieldsOf(field, `${prefix}${name}.`)];
  });
}

describe("docs/schemas", () => {
  it("holds exactly the JSON Schemas that src/protocol produces now", async () => {
    const expected = schemaFiles();
    const present = (await readdir(join(root, SCHEMA_DIR))).filter((name) => name.endsWith(".schema.json")).sort();
    expect(present, `${SCHEMA_DIR}/ does not list the schemas src/protocol produces; ${REGENERATE}.`).toEqual(Object.keys(expected).sort());
    for (const [name, content] of Object.entries(expected)) {
      const file = await readFile(join(root, SCHEMA_DIR, name), "utf8");
      expect(file, `${SCHEMA_DIR}/${name} is out of date with src/protocol; ${REGENERATE}.`).toBe(content);
    }
  });

  it("has one schema per command, run event, the audit record and the reply", () => {
    expect(Object.keys(protocolJsonSchemas())).toEqual([
      "run.create",
      "run.cancel",
      "run.delete",
      "thread.create",
      "thread.update",
      "thread.delete",
      "thread.update_state",
      "thread.copy",
      "metadata",
      "chunk",
      "error",
      "end",
      "transition",
      "reply",
    ]);
  });

  it("is generated deterministically, as draft 2020-12", () => {
    expect(JSON.stringify(protocolJsonSchemas())).toBe(JSON.stringify(protocolJsonSchemas()));
    for (const [name, schema] of Object.entries(protocolJsonSchemas())) {
      expect(schema.$schema, name).toBe(DRAFT_2020_12);
      expect(Object.keys(schema).slice(0, 3), name).toEqual(["$schema", "title", "description"]);
    }
  });

  it("describes every field", () => {
    const undocumented = Object.entries(protocolJsonSchemas()).flatMap(([name, schema]) =>
      fieldsOf(schema)
        .filter(([, field]) => typeof field.description !== "string" || field.description.length === 0)
        .map(([path]) => `${name}: ${path}`),
    );
    expect(undocumented, "Describe these fields in PROTOCOL_MESSAGES (src/protocol/json-schema.ts).").toEqual([]);
  });

  it("documents chunks as free-form JSON", () => {
    const chunk = protocolJsonSchemas().chunk;
    expect(Object.keys(chunk ?? {}).sort()).toEqual(["$schema", "description", "title"]);
  });

  it("shows commands as producers write them: strict, with defaulted fields optional", () => {
    const schemas = protocolJsonSchemas();
    for (const message of PROTOCOL_MESSAGES.filter((m) => m.kind === "command")) {
      expect(schemas[message.name]?.additionalProperties, message.name).toBe(false);
    }
    const cancel = schemas["run.cancel"];
    expect(cancel?.required).toEqual(["type", "run_id", "thread_id"]);
    expect(fieldsOf(cancel ?? {}).find(([path]) => path === "action")?.[1].default).toBe("interrupt");
    // What runbus writes stays open, so it can add fields without breaking strict readers.
    expect(schemas.reply?.additionalProperties).toBeUndefined();
  });
});

describe("docs/protocol.md", () => {
  let doc: string;
  beforeAll(async () => {
    doc = await readFile(join(root, PROTOCOL_DOC), "utf8");
  });

  it("has the generated section that the schemas produce now", () => {
    expect(generatedSectionOf(doc), `The generated section of ${PROTOCOL_DOC} is out of date; ${REGENERATE}.`).toBe(renderGeneratedSection());
  });

  it("lists every reply code that can appear on the wire, and no other", () => {
    const table = doc.slice(doc.indexOf("### Reply codes"), doc.indexOf("## Run events"));
    const listed = [...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((match) => match[1]);
    expect(listed.sort()).toEqual([...WIRE_ERROR_CODES].sort());
  });

  it("gives the run machine's transitions in the audit section", () => {
    const section = doc.slice(doc.indexOf("## Audit topic"), doc.indexOf("## Message reference"));
    const rows = [...section.matchAll(/^\| `([a-z_]+)` \| (.+) \|$/gm)];
    // Only the first backticked word of each comma-separated target counts; parentheses are notes.
    const documented = rows.flatMap(([, from, targets]) =>
      (targets ?? "").split(/,(?![^(]*\))/).map((target) => `${from}->${/`([a-z_]+)`/.exec(target)?.[1]}`),
    );
    expect(documented.sort()).toEqual([...RUN_TRANSITIONS].sort());
    expect(section).toContain(`\`to: "${RUN_INITIAL_STATUS}"\``);
  });

  it("names every topic", () => {
    for (const topic of topicNames(new Topics())) expect(doc).toContain(`\`${topic.replace("{run_id}", "<run_id>")}\``);
  });
});

/** Every topic the Topics class names: its getters, and the per-run topic with its parameter. */
function topicNames(topics: Topics): string[] {
  const getters = Object.entries(Object.getOwnPropertyDescriptors(Topics.prototype))
    .filter(([, descriptor]) => descriptor.get !== undefined)
    .map(([name]) => Reflect.get(topics, name) as string);
  return [...getters, topics.run("{run_id}")].sort();
}

/** The parser's own annotations (`x-parser-schema-id`, …) removed. */
function withoutParserKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutParserKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => !key.startsWith("x-parser-")).map(([key, v]) => [key, withoutParserKeys(v)]));
}

/** The `const` of every `ce_type` property anywhere in a headers schema. */
function ceTypeConsts(schema: unknown): unknown[] {
  if (Array.isArray(schema)) return schema.flatMap(ceTypeConsts);
  if (!isObject(schema)) return [];
  const ceType = isObject(schema.properties) ? schema.properties.ce_type : undefined;
  const own = isObject(ceType) && "const" in ceType ? [ceType.const] : [];
  return [...own, ...Object.values(schema).flatMap(ceTypeConsts)];
}

const ZOD_BY_NAME: Record<string, z.ZodType | undefined> = Object.fromEntries(PROTOCOL_MESSAGES.map((m) => [m.name, m.schema ?? undefined]));

describe("docs/asyncapi.yaml", () => {
  let document: AsyncAPIDocumentInterface;
  let diagnostics: Diagnostic[];

  beforeAll(async () => {
    const output = await fromFile(new Parser(), ASYNCAPI).parse();
    diagnostics = output.diagnostics;
    if (!output.document) throw new Error(`${ASYNCAPI} did not parse: ${output.diagnostics.map((d) => d.message).join("; ")}`);
    document = output.document;
  }, 60_000);

  it("parses with no error diagnostics, as AsyncAPI 3.0.0", () => {
    const errors = diagnostics
      .filter((d) => d.severity === DiagnosticSeverity.Error)
      .map((d) => `${d.code} at ${d.path.join(".")}: ${d.message}`);
    expect(errors).toEqual([]);
    expect(document.version()).toBe("3.0.0");
  });

  it("declares every topic of Topics, and no other", () => {
    const addresses = document
      .channels()
      .all()
      .map((channel) => channel.address())
      .sort();
    expect(addresses).toEqual(topicNames(new Topics()));
  });

  it("gives every message with a protocol schema exactly that schema", () => {
    const schemas = protocolJsonSchemas();
    const used = new Set<string>();
    const unmatched = new Set<string>();
    for (const message of document.allMessages().all()) {
      const name = message.name() ?? message.id();
      const expected = schemas[name];
      if (!expected) {
        unmatched.add(name);
        continue;
      }
      used.add(name);
      const payload = message.payload();
      expect(payload?.schemaFormat(), name).toBe(PAYLOAD_FORMAT);
      expect(payload?.required() ?? [], name).toEqual(expected.required ?? []);
      expect(Object.keys(payload?.properties() ?? {}), name).toEqual(Object.keys(isObject(expected.properties) ? expected.properties : {}));
      const json = message.json() as { payload: { schema: unknown } };
      expect(withoutParserKeys(json.payload.schema), name).toEqual(expected);
    }
    expect([...used].sort()).toEqual(Object.keys(schemas).sort());
    // The dead letters keep the original bytes, which have no schema.
    expect([...unmatched]).toEqual(["dead-letter"]);
  });

  it("keys commands, events and audit records by ids of the id pattern", () => {
    for (const message of document.allMessages().all()) {
      const name = message.name() ?? message.id();
      if (!["command", "event", "audit"].includes(PROTOCOL_MESSAGES.find((m) => m.name === name)?.kind ?? "")) continue;
      const key = (message.json() as { bindings?: { kafka?: { key?: { pattern?: string } } } }).bindings?.kafka?.key;
      expect(key?.pattern, name).toBe(ID_PATTERN.source);
    }
  });

  it("puts each message's ce_type in its headers", () => {
    for (const message of document.allMessages().all()) {
      const described = PROTOCOL_MESSAGES.find((m) => m.name === message.name());
      if (!described) continue;
      for (const ceType of ceTypeConsts(message.json().headers)) expect(ceType, message.id()).toBe(described.ceType);
    }
  });

  it("has examples that the zod schemas accept", () => {
    let checked = 0;
    for (const message of document.allMessages().all()) {
      const schema = ZOD_BY_NAME[message.name() ?? ""];
      const examples = (message.json() as { examples?: { payload?: unknown }[] }).examples ?? [];
      for (const example of examples) {
        if (schema) {
          const result = schema.safeParse(example.payload);
          expect(result.success, `${message.id()}: ${JSON.stringify(result.error?.issues)}`).toBe(true);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });
});

/**
 * The only JSON Schema validator in node_modules is Ajv 6 (eslint's), which knows draft-07, not
 * 2020-12. Our schemas use one 2020-12 keyword, `prefixItems` (for tuples); it has an exact
 * draft-07 spelling. Any other 2020-12-only keyword fails the test rather than being ignored.
 */
const ONLY_2020_12 = [
  "$defs",
  "$dynamicRef",
  "$dynamicAnchor",
  "$anchor",
  "dependentSchemas",
  "dependentRequired",
  "unevaluatedItems",
  "unevaluatedProperties",
  "minContains",
  "maxContains",
];
const SCHEMA_MAPS = ["properties", "patternProperties", "definitions"];
const DATA = ["const", "default", "enum", "examples", "required"];

function toDraft07(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toDraft07);
  if (!isObject(schema)) return schema;
  const out: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (ONLY_2020_12.includes(keyword)) {
      throw new Error(`toDraft07 cannot translate '${keyword}'; teach it, or validate with a 2020-12 validator.`);
    }
    if (keyword === "$schema") continue;
    if (keyword === "prefixItems") out.items = toDraft07(value);
    else if (keyword === "items" && "prefixItems" in schema) out.additionalItems = toDraft07(value);
    else if (DATA.includes(keyword)) out[keyword] = value;
    else if (SCHEMA_MAPS.includes(keyword) && isObject(value)) {
      out[keyword] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, toDraft07(sub)]));
    } else out[keyword] = toDraft07(value);
  }
  return out;
}

const ajv = new Ajv({ allErrors: true });
const jsonSchemaValidators = Object.fromEntries(
  Object.entries(protocolJsonSchemas()).map(([name, schema]) => [name, ajv.compile(toDraft07(schema) as object)]),
);

/** Both verdicts on one sample: the exported JSON Schema's, and the zod schema's. */
function verdicts(name: string, value: unknown): { jsonSchema: boolean; zod: boolean; errors: string } {
  const validate = jsonSchemaValidators[name];
  const schema = PROTOCOL_MESSAGES.find((m) => m.name === name)?.kind === "command" ? commandSchema : ZOD_BY_NAME[name];
  if (!validate || !schema) throw new Error(`No schema named '${name}'.`);
  const jsonSchema = validate(value) === true;
  const parsed = schema.safeParse(value);
  return { jsonSchema, zod: parsed.success, errors: `${ajv.errorsText(validate.errors)} | ${JSON.stringify(parsed.error?.issues ?? [])}` };
}

const create = { type: "run.create", thread_id: "thread-42", graph_id: "agent" };

const VALID: [string, unknown][] = [
  ["run.create", create],
  [
    "run.create",
    {
      ...create,
      command_id: "c-1",
      run_id: "run-7",
      input: { messages: [{ role: "user", content: "Hello" }] },
      command: { resume: { ok: true }, goto: "tools", update: [["messages", [1, 2]]] },
      config: { configurable: { a: 1 } },
      stream_mode: ["updates", "messages-tuple"],
      stream_subgraphs: false,
      interrupt_before: "*",
      interrupt_after: ["a", "b"],
      checkpoint_id: "cp-1",
      multitask_strategy: "rollback",
      if_not_exists: "create",
      timeout_ms: 1000,
      after_seconds: 0,
    },
  ],
  ["run.create", { ...create, command: { update: { count: 2 } } }],
  ["run.create", { ...create, thread_id: "a".repeat(128) }],
  ["run.cancel", { type: "run.cancel", run_id: "run-7", thread_id: "thread-42" }],
  ["run.cancel", { type: "run.cancel", run_id: "run-7", thread_id: "thread-42", action: "rollback" }],
  ["thread.create", { type: "thread.create", thread_id: "thread-42", metadata: {}, if_exists: "raise" }],
  ["thread.update", { type: "thread.update", thread_id: "thread-42", metadata: { tier: "gold" } }],
  ["thread.delete", { type: "thread.delete", thread_id: "thread-42", force: false }],
  ["metadata", { run_id: "run-7", thread_id: "thread-42", attempt: 2 }],
  ["error", { name: "RunRolledBack", message: "Rolled back by user" }],
  ["end", { status: "interrupted" }],
  ["end", { status: "error", error: { name: "Error", message: "boom" }, interrupts: [] }],
  [
    "transition",
    { kind: "run", id: "run-7", thread_id: "thread-42", from: null, to: "pending", cause: "accepted", at: "2025-01-01T00:00:00.000Z", worker_id: "w", seq: 0 },
  ],
  ["reply", { command_id: null, thread_id: null, accepted: false, code: "invalid_json", reason: "Command is not valid JSON: …" }],
  ["reply", { command_id: "c-1", run_id: "run-7", thread_id: "thread-42", accepted: true, disposition: "queued" }],
];

const INVALID: [string, unknown, string][] = [
  ["run.create", { type: "run.create", graph_id: "agent" }, "no thread_id"],
  ["run.create", { ...create, priority: 1 }, "an unknown field"],
  ["run.create", { ...create, thread_id: "" }, "an empty thread id"],
  ["run.create", { ...create, thread_id: "a".repeat(129) }, "a 129-character thread id"],
  ["run.create", { ...create, thread_id: "a/b" }, "a slash in the thread id"],
  ["run.create", { ...create, run_id: "run 7" }, "a space in the run id"],
  ["run.create", { ...create, run_id: "rün" }, "a non-ASCII run id"],
  ["run.create", { ...create, stream_mode: "values" }, "stream_mode not a list"],
  ["run.create", { ...create, stream_mode: Array.from({ length: 17 }, () => "values") }, "17 stream modes"],
  ["run.create", { ...create, timeout_ms: 0 }, "a zero timeout"],
  ["run.create", { ...create, timeout_ms: 2.5 }, "a fractional timeout"],
  ["run.create", { ...create, after_seconds: -1 }, "a negative delay"],
  ["run.create", { ...create, interrupt_before: "all" }, "interrupt_before neither * nor a list"],
  ["run.create", { ...create, command: { update: [["only-a-channel"]] } }, "an update pair of one"],
  ["run.create", { ...create, command: { update: [["a", 1, 2]] } }, "an update pair of three"],
  ["run.create", { ...create, command: { resume: 1, jump: "x" } }, "an unknown field in command"],
  ["run.create", { ...create, metadata: [1, 2] }, "metadata as a list"],
  ["run.create", { ...create, multitask_strategy: "queue" }, "an unknown multitask strategy"],
  ["run.create", { ...create, command_id: "" }, "an empty command id"],
  ["run.cancel", { type: "run.cancel", run_id: "run-7", thread_id: "thread-42", action: "stop" }, "an unknown action"],
  ["run.cancel", { type: "run.cancel", thread_id: "thread-42" }, "no run_id"],
  ["thread.create", { type: "thread.create", thread_id: "t", if_exists: "ignore" }, "an unknown if_exists"],
  ["thread.update", { type: "thread.update", thread_id: "t" }, "no metadata"],
  ["thread.delete", { type: "thread.delete", thread_id: "t", force: "yes" }, "force as a string"],
  ["metadata", { run_id: "run-7", thread_id: "thread-42", attempt: 0 }, "attempt 0"],
  ["end", { status: "running" }, "a non-terminal status"],
  ["end", { status: "error", error: { name: "Error" } }, "an error without a message"],
  [
    "transition",
    { kind: "run", id: "r", thread_id: "t", to: "pending", cause: "accepted", at: "x", worker_id: "w", seq: -1 },
    "no from and a negative seq",
  ],
  ["reply", { command_id: "c-1", thread_id: "t", accepted: "yes" }, "accepted as a string"],
  ["reply", { command_id: "c-1", thread_id: "t", accepted: true, disposition: "running" }, "an unknown disposition"],
];

describe("samples against the exported JSON Schemas and the zod schemas", () => {
  it.each(VALID.map(([name, value], index) => [name, index, value] as const))("%s sample %i is valid for both", (name, _index, value) => {
    const result = verdicts(name, value);
    expect({ jsonSchema: result.jsonSchema, zod: result.zod }, result.errors).toEqual({ jsonSchema: true, zod: true });
  });

  it.each(INVALID.map(([name, value, what]) => [name, what, value] as const))("%s with %s is invalid for both", (name, _what, value) => {
    const result = verdicts(name, value);
    expect({ jsonSchema: result.jsonSchema, zod: result.zod }, result.errors).toEqual({ jsonSchema: false, zod: false });
  });

  it("reads the chunk schema as accepting any JSON value", () => {
    const chunks = [null, 0, "text", [], { agent: { messages: [] } }, [{ type: "ai", content: "hi" }, { langgraph_node: "agent" }]];
    for (const value of chunks) expect(jsonSchemaValidators.chunk?.(value)).toBe(true);
  });
});
