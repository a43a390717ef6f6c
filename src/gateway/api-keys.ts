import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { RunbusError, messageOf } from "../errors.js";
import { ownerSchema } from "../protocol/commands.js";

/** Shorter keys are refused at start-up: a key is a password that is never typed. */
export const MIN_API_KEY_LENGTH = 16;
const HASHED = /^sha256:([0-9a-f]{64})$/;

/**
 * The API keys of `RUNBUS_GATEWAY_API_KEYS_FILE`: a JSON object mapping each key to the identity
 * it authenticates, e.g. `{"k3y-of-alice…": "alice"}`. A key may be written as `sha256:<hex>`
 * (the SHA-256 of the key, lowercase hex) so that the file holds no usable secret. Only the hashes
 * are kept in memory; a presented key is hashed and compared with every one in constant time.
 */
export class ApiKeys {
  private constructor(private readonly entries: ReadonlyArray<{ hash: Buffer; identity: string }>) {}

  /** Reads and checks the file; a missing or malformed file is a `config_invalid` naming it (never its keys). */
  static async load(file: string): Promise<ApiKeys> {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      throw invalid(file, `cannot be read (${messageOf(error)})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      // JSON.parse quotes the text around the fault, which may be a key.
      throw invalid(file, "is not valid JSON");
    }
    return ApiKeys.from(parsed, file);
  }

  /** The keys of a parsed file (`source` names it in errors). */
  static from(parsed: unknown, source = "the API keys"): ApiKeys {
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw invalid(source, 'must be a JSON object mapping each API key to an identity, like {"<key>": "alice"}');
    const entries = Object.entries(parsed).map(([key, identity], index) => {
      if (!ownerSchema.safeParse(identity).success) throw invalid(source, `entry ${index + 1}: the identity must be a string of 1 to 256 characters`);
      const hashed = HASHED.exec(key);
      if (hashed) return { hash: Buffer.from(hashed[1]!, "hex"), identity: identity as string };
      if (key.length < MIN_API_KEY_LENGTH) throw invalid(source, `entry ${index + 1} (identity ${String(identity)}): a key must have at least ${MIN_API_KEY_LENGTH} characters, or be written sha256:<64 hex digits>`);
      return { hash: sha256(key), identity: identity as string };
    });
    if (entries.length === 0) throw invalid(source, "holds no keys");
    return new ApiKeys(entries);
  }

  /** The identity `key` authenticates, or null. Takes the same time whichever entry (if any) matches. */
  identify(key: string): string | null {
    const hash = sha256(key);
    let found: string | null = null;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.hash, hash) && found === null) found = entry.identity;
    }
    return found;
  }
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function invalid(source: string, problem: string): RunbusError {
  return new RunbusError("config_invalid", `RUNBUS_GATEWAY_API_KEYS_FILE ${source} ${problem}.`);
}
