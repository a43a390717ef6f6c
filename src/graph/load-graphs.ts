import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { RunbusError } from "../errors.js";
import type { GraphEntry } from "./registry.js";

/**
 * The graphs a worker serves, in the spirit of langgraph.json: either `runbus.config.json`
 * (`{"graphs": {"id": "./path/to/module.js:exportName"}}`) or a JS/TS module exporting
 * `graphs` (`{ id: compiledGraph | factory }`).
 */
export async function loadGraphs(spec: string, cwd = process.cwd()): Promise<Record<string, GraphEntry>> {
  const path = isAbsolute(spec) ? spec : resolve(cwd, spec);
  if (!existsSync(path)) throw new RunbusError("config_invalid", `Graphs file ${path} does not exist.`);
  if (extname(path) === ".json") return loadFromJson(path);
  const module = await importModule(path);
  const graphs = (module.graphs ?? (module.default as { graphs?: unknown } | undefined)?.graphs) as Record<string, GraphEntry> | undefined;
  if (!graphs || typeof graphs !== "object") {
    throw new RunbusError("config_invalid", `Module ${path} exports no \`graphs\` object ({ id: compiledGraph | factory }).`);
  }
  return graphs;
}

async function loadFromJson(path: string): Promise<Record<string, GraphEntry>> {
  const config = JSON.parse(readFileSync(path, "utf8")) as { graphs?: Record<string, string> };
  if (!config.graphs || typeof config.graphs !== "object") {
    throw new RunbusError("config_invalid", `${path} has no "graphs" object ({"id": "./module.js:exportName"}).`);
  }
  const graphs: Record<string, GraphEntry> = {};
  for (const [id, target] of Object.entries(config.graphs)) {
    const [file, exportName = "graph"] = target.split(":");
    if (!file) throw new RunbusError("config_invalid", `Graph '${id}' in ${path} names no module.`);
    const module = await importModule(resolve(dirname(path), file));
    const entry = module[exportName];
    if (entry === undefined) throw new RunbusError("config_invalid", `Graph '${id}': ${file} has no export '${exportName}'.`);
    graphs[id] = entry as GraphEntry;
  }
  return graphs;
}

async function importModule(path: string): Promise<Record<string, unknown>> {
  if (/\.[mc]?ts$/.test(path)) {
    // TypeScript graph modules load through tsx when it is installed.
    const { register } = (await import("tsx/esm/api").catch(() => {
      throw new RunbusError("config_invalid", `Loading the TypeScript module ${path} needs the tsx package; compile it to JS or install tsx.`);
    })) as { register: () => unknown };
    register();
  }
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
}
