import type { Context } from "hono";
import { jsonShapeIssue } from "../../protocol/json-shape.js";
import { HttpError } from "../http-error.js";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The request's JSON body; an empty body is `{}`. A body that is not UTF-8 JSON, nests deeper
 * than a command may, or has a `__proto__` key is a 422 (the size limit is the app's body limit).
 */
export async function readJson(c: Context): Promise<unknown> {
  let text: string;
  try {
    text = utf8.decode(await c.req.arrayBuffer());
  } catch (error) {
    if (error instanceof TypeError) throw new HttpError(422, "The request body is not valid UTF-8.", "invalid_json");
    throw error;
  }
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(422, `The request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}.`, "invalid_json");
  }
  const shape = jsonShapeIssue(value, "The request body");
  if (shape) throw new HttpError(422, shape.message, shape.code === "json_too_deep" ? "json_too_deep" : "invalid_request");
  return value;
}
