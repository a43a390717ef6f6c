/**
 * Regenerates the protocol reference from the zod schemas in src/protocol:
 * docs/schemas/<name>.schema.json for every message, and the field tables of docs/protocol.md
 * between the generated-section markers. Run it with `npm run docs:protocol`.
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PROTOCOL_MESSAGES, protocolJsonSchemas, type JsonSchema, type ProtocolMessageKind } from "../src/protocol/json-schema.js";

export const BEGIN_MARKER = "<!-- BEGIN GENERATED SCHEMAS -->";
export const END_MARKER = "<!-- END GENERATED SCHEMAS -->";
export const SCHEMA_DIR = "docs/schemas";
export const PROTOCOL_DOC = "docs/protocol.md";

const SCHEMA_SUFFIX = ".schema.json";

/** The contents of docs/schemas/, by file name. */
export function schemaFiles(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(protocolJsonSchemas()).map(([name, schema]) => [`${name}${SCHEMA_SUFFIX}`, `${JSON.stringify(schema, null, 2)}\n`]),
  );
}

function isObject(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function literal(value: unknown): string {
  return JSON.stringify(value);
}

/** A schema's type in a short TypeScript-like notation. */
export function typeOf(schema: unknown): string {
  if (schema === false) return "never";
  if (!isObject(schema)) return "any";
  if (schema.const !== undefined) return literal(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map(literal).join(" | ");
  if (Array.isArray(schema.anyOf)) return schema.anyOf.map(typeOf).join(" | ");
  if (Array.isArray(schema.oneOf)) return schema.oneOf.map(typeOf).join(" | ");
  const types = Array.isArray(schema.type) ? (schema.type as unknown[]) : schema.type === undefined ? [] : [schema.type];
  if (types.length === 0) return "any";
  return types
    .map((type) => {
      if (type !== "array") return String(type);
      if (Array.isArray(schema.prefixItems)) return `[${schema.prefixItems.map(typeOf).join(", ")}]`;
      const item = typeOf(schema.items);
      return item.includes(" | ") ? `(${item})[]` : `${item}[]`;
    })
    .join(" | ");
}

/** Constraints worth a reader's eye, in words. */
export function constraintsOf(schema: JsonSchema): string[] {
  const out: string[] = [];
  const { minLength, maxLength, minItems, maxItems, minimum, maximum, exclusiveMinimum, exclusiveMaximum } = schema;
  if (typeof schema.pattern === "string") out.push(`matches \`${schema.pattern}\``);
  if (typeof minLength === "number" && typeof maxLength === "number") out.push(`${minLength} to ${maxLength} characters`);
  else if (typeof maxLength === "number") out.push(`at most ${maxLength} characters`);
  else if (typeof minLength === "number") out.push(`at least ${minLength} characters`);
  if (!Array.isArray(schema.prefixItems)) {
    if (typeof maxItems === "number") out.push(`at most ${maxItems} items`);
    if (typeof minItems === "number") out.push(`at least ${minItems} items`);
  }
  // zod bounds every integer by the safe-integer range: no news to a reader.
  const bound = (value: unknown): value is number => typeof value === "number" && Math.abs(value) !== Number.MAX_SAFE_INTEGER;
  const bounds: string[] = [];
  if (bound(minimum)) bounds.push(`≥ ${minimum}`);
  if (bound(exclusiveMinimum)) bounds.push(`> ${exclusiveMinimum}`);
  if (bound(maximum)) bounds.push(`≤ ${maximum}`);
  if (bound(exclusiveMaximum)) bounds.push(`< ${exclusiveMaximum}`);
  if (bounds.length > 0) out.push(bounds.join(", "));
  if (schema.default !== undefined) out.push(`default \`${literal(schema.default)}\``);
  if (schema.additionalProperties === false && isObject(schema.properties)) out.push("no other fields");
  return out;
}

interface FieldRow {
  path: string;
  type: string;
  required: boolean;
  description: string;
}

function fieldRows(schema: JsonSchema, prefix = ""): FieldRow[] {
  const properties = isObject(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const rows: FieldRow[] = [];
  for (const [name, sub] of Object.entries(properties)) {
    const field = isObject(sub) ? sub : {};
    const text = typeof field.description === "string" ? field.description : "";
    const constraints = constraintsOf(field);
    rows.push({
      path: `${prefix}${name}`,
      type: typeOf(field),
      required: required.has(name),
      description: [text, constraints.length > 0 ? `(${constraints.join("; ")})` : ""].filter(Boolean).join(" "),
    });
    if (isObject(field.properties)) rows.push(...fieldRows(field, `${prefix}${name}.`));
  }
  return rows;
}

/** A table cell: one line, with the pipes escaped (also inside code spans, as GFM wants). */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|");
}

const GROUPS: readonly { kind: ProtocolMessageKind; heading: string; where: string }[] = [
  { kind: "command", heading: "Commands", where: "Value of a record on `runbus.commands`." },
  { kind: "event", heading: "Run events", where: "Value of a record on `runbus.run.<run_id>` (or `runbus.run-events`)." },
  { kind: "audit", heading: "Audit record", where: "Value of a record on `runbus.transitions`." },
  { kind: "reply", heading: "Reply", where: "Value of a record on `runbus.replies`." },
];

/** The generated section of docs/protocol.md, between (not including) the markers. */
export function renderGeneratedSection(schemas: Record<string, JsonSchema> = protocolJsonSchemas()): string {
  const lines: string[] = ["", "<!-- Generated from src/protocol by `npm run docs:protocol`; edit the schemas, not this section. -->", ""];
  for (const group of GROUPS) {
    lines.push(`### ${group.heading}`, "", group.where, "");
    for (const message of PROTOCOL_MESSAGES.filter((m) => m.kind === group.kind)) {
      const schema = schemas[message.name];
      if (!schema) throw new Error(`No JSON Schema was generated for '${message.name}'.`);
      const file = `schemas/${message.name}${SCHEMA_SUFFIX}`;
      lines.push(`#### \`${message.name}\``, "");
      lines.push(`${message.description} \`ce_type\`: \`${message.ceType}\`. JSON Schema: [${file}](${file}).`, "");
      const rows = fieldRows(schema);
      if (rows.length === 0) {
        lines.push("Free-form: any JSON value.", "");
        continue;
      }
      lines.push("| Field | Type | Required | Description |", "| --- | --- | --- | --- |");
      for (const row of rows) {
        lines.push(`| \`${cell(row.path)}\` | \`${cell(row.type)}\` | ${row.required ? "yes" : "no"} | ${cell(row.description)} |`);
      }
      lines.push("");
    }
  }
  return `${lines.join("\n")}\n`;
}

function markerPositions(markdown: string): { start: number; end: number } {
  const begin = markdown.indexOf(BEGIN_MARKER);
  const end = markdown.indexOf(END_MARKER);
  if (begin === -1 || end === -1 || end < begin) {
    throw new Error(`${PROTOCOL_DOC} must contain ${BEGIN_MARKER} followed by ${END_MARKER}.`);
  }
  return { start: begin + BEGIN_MARKER.length, end };
}

/** The text between the markers. */
export function generatedSectionOf(markdown: string): string {
  const { start, end } = markerPositions(markdown);
  return markdown.slice(start, end);
}

/** The document with the text between the markers replaced. */
export function withGeneratedSection(markdown: string, section: string): string {
  const { start, end } = markerPositions(markdown);
  return `${markdown.slice(0, start)}${section}${markdown.slice(end)}`;
}

/** Writes the schema files and the generated section; returns the files it changed. */
export async function writeProtocolDocs(root: string): Promise<string[]> {
  const changed: string[] = [];
  const dir = join(root, SCHEMA_DIR);
  await mkdir(dir, { recursive: true });
  const files = schemaFiles();
  for (const name of await readdir(dir)) {
    if (name.endsWith(SCHEMA_SUFFIX) && !(name in files)) {
      await rm(join(dir, name));
      changed.push(`${SCHEMA_DIR}/${name}`);
    }
  }
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    const current = await readFile(path, "utf8").catch(() => null);
    if (current !== content) {
      await writeFile(path, content);
      changed.push(`${SCHEMA_DIR}/${name}`);
    }
  }
  const docPath = join(root, PROTOCOL_DOC);
  const doc = await readFile(docPath, "utf8");
  const next = withGeneratedSection(doc, renderGeneratedSection());
  if (next !== doc) {
    await writeFile(docPath, next);
    changed.push(PROTOCOL_DOC);
  }
  return changed;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const changed = await writeProtocolDocs(root);
  console.log(changed.length > 0 ? `Updated ${changed.join(", ")}.` : "Protocol docs are up to date.");
}
