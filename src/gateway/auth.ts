import type { Context, MiddlewareHandler } from "hono";
import type { RunbusConfig } from "../config.js";
import type { Logger } from "../logger.js";
import { ApiKeys } from "./api-keys.js";
import { JwtRejected, JwtVerifier, looksLikeJwt } from "./jwt.js";

/** Who made a request: the owner of the threads and runs it creates, and the only one who sees them. */
export interface Identity {
  subject: string;
  /** How the caller proved it. */
  method: "api_key" | "jwt";
}

declare module "hono" {
  interface ContextVariableMap {
    /** Set by the auth middleware; absent when the gateway runs without authentication. */
    identity?: Identity;
  }
}

export type GatewayAuthConfig = RunbusConfig["gateway"]["auth"];

/** The stable codes of a 401 (and, for an unreachable key set, a 503) answer. */
export type AuthFailureCode = "unauthenticated" | "invalid_credentials" | "auth_unavailable";

export type AuthResult = { ok: true; identity: Identity } | { ok: false; code: AuthFailureCode; message: string };

/** Routes anyone may call: the SDKs' liveness and capability probes say nothing about threads or runs. */
const OPEN_PATHS: ReadonlySet<string> = new Set(["/ok", "/info"]);

/**
 * Checks a request's credentials: `Authorization: Bearer <token>` (preferred when both are sent)
 * or `x-api-key: <token>` (what the LangGraph SDKs send for `apiKey`). A token shaped like a JWT
 * is verified as one when JWTs are configured; any other token is looked up among the API keys.
 */
export class GatewayAuthenticator {
  private constructor(
    private readonly apiKeys: ApiKeys | null,
    private readonly jwt: JwtVerifier | null,
  ) {}

  /** Reads the key file and keys the configuration names; null when it configures no authentication. */
  static async create(config: GatewayAuthConfig): Promise<GatewayAuthenticator | null> {
    if (!isAuthConfigured(config)) return null;
    const [apiKeys, jwt] = await Promise.all([
      config.apiKeysFile ? ApiKeys.load(config.apiKeysFile) : null,
      config.jwt ? JwtVerifier.create(config.jwt) : null,
    ]);
    return new GatewayAuthenticator(apiKeys, jwt);
  }

  /** For tests and embedders that hold their keys in memory. */
  static of(parts: { apiKeys?: ApiKeys; jwt?: JwtVerifier }): GatewayAuthenticator {
    return new GatewayAuthenticator(parts.apiKeys ?? null, parts.jwt ?? null);
  }

  /** What the methods configured say about a request with these headers. */
  async authenticate(headers: { authorization?: string | undefined; apiKey?: string | undefined }): Promise<AuthResult> {
    const credential = credentialOf(headers);
    if (!credential.ok) return credential;
    const token = credential.token;
    if (this.jwt && looksLikeJwt(token)) {
      try {
        return { ok: true, identity: { subject: await this.jwt.verify(token), method: "jwt" } };
      } catch (error) {
        if (!(error instanceof JwtRejected)) throw error;
        return { ok: false, code: error.unavailable ? "auth_unavailable" : "invalid_credentials", message: error.message };
      }
    }
    const subject = this.apiKeys?.identify(token) ?? null;
    if (subject !== null) return { ok: true, identity: { subject, method: "api_key" } };
    return { ok: false, code: "invalid_credentials", message: this.apiKeys ? "The API key is not valid." : "The credentials are not valid: this gateway accepts JWTs only." };
  }
}

/** Whether `config` turns authentication on (an API key file or JWTs). */
export function isAuthConfigured(config: GatewayAuthConfig): boolean {
  return config.apiKeysFile !== undefined || config.jwt !== undefined;
}

function credentialOf(headers: { authorization?: string | undefined; apiKey?: string | undefined }): { ok: true; token: string } | Extract<AuthResult, { ok: false }> {
  const authorization = headers.authorization?.trim();
  if (authorization) {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!bearer) return { ok: false, code: "invalid_credentials", message: "The Authorization header must be `Bearer <token>`." };
    return { ok: true, token: bearer[1]! };
  }
  const apiKey = headers.apiKey?.trim();
  if (apiKey) return { ok: true, token: apiKey };
  return { ok: false, code: "unauthenticated", message: "This gateway requires credentials: send `Authorization: Bearer <token>` or `x-api-key: <key>`." };
}

/**
 * The middleware that authenticates every request but those of OPEN_PATHS (and CORS preflights,
 * answered before it), and puts the caller's identity on the context. A refusal is a 401 (503 when
 * the issuer's key set cannot be fetched) with `{detail, code}`; no credential is ever logged.
 */
export function authMiddleware(authenticator: GatewayAuthenticator, logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    if (OPEN_PATHS.has(c.req.path)) return next();
    const result = await authenticator.authenticate({ authorization: c.req.header("authorization"), apiKey: c.req.header("x-api-key") });
    if (result.ok) {
      c.set("identity", result.identity);
      return next();
    }
    logger.info({ method: c.req.method, path: c.req.path, code: result.code, reason: result.message }, "request not authenticated");
    if (result.code === "auth_unavailable") return c.json({ detail: result.message, code: result.code }, 503);
    c.header("WWW-Authenticate", 'Bearer realm="runbus"');
    return c.json({ detail: result.message, code: result.code }, 401);
  };
}

/**
 * The owner a request acts for: its caller's identity, or undefined when the gateway runs without
 * authentication (then every thread is visible, as before owners existed).
 */
export function ownerOf(c: Context): string | undefined {
  return c.get("identity")?.subject;
}
