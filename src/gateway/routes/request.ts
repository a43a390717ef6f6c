import type { Context } from "hono";
import { HttpError } from "../http-error.js";

/** The request's JSON body; an empty body is `{}`, a body that is not JSON a 422. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(422, `The request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}.`, "invalid_json");
  }
}
