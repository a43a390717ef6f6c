import { createPublicKey, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { RunbusError, messageOf } from "../errors.js";
import { ownerSchema } from "../protocol/commands.js";

export interface JwtSettings {
  /** A shared HS256 secret. */
  secret?: string | undefined;
  /** A PEM file holding the issuer's public key (SPKI) or certificate. */
  publicKeyFile?: string | undefined;
  /** The issuer's JSON Web Key Set, fetched and cached (refetched for an unknown `kid`). */
  jwksUrl?: string | undefined;
  algorithms?: string[] | undefined;
  issuer: string;
  audience: string;
}

/** Tolerated skew between the issuer's clock and ours when checking `exp` and `nbf`, in seconds. */
const CLOCK_TOLERANCE_S = 5;

/** Why a token was refused, said without the token. `unavailable`: the issuer's key set could not be had, not the token's fault. */
export class JwtRejected extends Error {
  override readonly name = "JwtRejected";

  constructor(
    message: string,
    readonly unavailable = false,
  ) {
    super(message);
  }
}

/**
 * Verifies bearer JWTs with `jose`: the signature under the configured key, `alg` among the
 * accepted ones, `iss` and `aud` equal to the configured ones, `exp`/`nbf`, and a `sub` — the
 * identity the token authenticates.
 */
export class JwtVerifier {
  private constructor(
    private readonly key: KeyObject | Uint8Array | JWTVerifyGetKey,
    private readonly options: { issuer: string; audience: string; algorithms: string[] },
  ) {}

  static async create(settings: JwtSettings): Promise<JwtVerifier> {
    const symmetric = settings.secret !== undefined;
    const algorithms = settings.algorithms ?? [symmetric ? "HS256" : "RS256"];
    // A public key taken as an HMAC secret would let anyone sign (algorithm confusion): each key kind takes its own algs.
    const wrong = algorithms.filter((alg) => alg.startsWith("HS") !== symmetric || alg === "none");
    if (wrong.length > 0) {
      throw new RunbusError("config_invalid", `RUNBUS_GATEWAY_JWT_ALGORITHMS ${wrong.join(", ")} cannot be used with ${symmetric ? "a shared secret (use HS256, HS384 or HS512)" : "a public key or JWKS (use RS256, PS256, ES256, EdDSA, …)"}.`);
    }
    const options = { issuer: settings.issuer, audience: settings.audience, algorithms };
    if (settings.secret !== undefined) return new JwtVerifier(new TextEncoder().encode(settings.secret), options);
    if (settings.publicKeyFile !== undefined) return new JwtVerifier(await readPublicKey(settings.publicKeyFile), options);
    if (settings.jwksUrl !== undefined) return new JwtVerifier(createRemoteJWKSet(new URL(settings.jwksUrl)), options);
    throw new RunbusError("config_invalid", "JWT verification needs RUNBUS_GATEWAY_JWT_SECRET, RUNBUS_GATEWAY_JWT_PUBLIC_KEY_FILE or RUNBUS_GATEWAY_JWKS_URL.");
  }

  /** The token's subject; rejects with a JwtRejected saying why, in words safe to answer and log. */
  async verify(token: string): Promise<string> {
    let payload: { sub?: unknown };
    try {
      ({ payload } = await jwtVerify(token, this.key, { ...this.options, clockTolerance: CLOCK_TOLERANCE_S, requiredClaims: ["sub"] }));
    } catch (error) {
      const unavailable = error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || !(error instanceof errors.JOSEError);
      throw new JwtRejected(reasonOf(error), unavailable);
    }
    const subject = ownerSchema.safeParse(payload.sub);
    if (!subject.success) throw new JwtRejected("The token's sub claim must be a string of 1 to 256 characters.");
    return subject.data;
  }
}

/** Whether `credential` has the shape of a JWS compact serialization (three base64url parts). */
export function looksLikeJwt(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(credential);
}

function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "The token has expired.";
  if (error instanceof errors.JWTClaimValidationFailed) return `The token's ${error.claim} claim is not accepted (${error.reason}).`;
  if (error instanceof errors.JOSEAlgNotAllowed) return "The token's signing algorithm is not accepted.";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "The token's signature does not verify.";
  if (error instanceof errors.JWKSNoMatchingKey) return "No key of the issuer's key set matches the token.";
  if (error instanceof errors.JOSEError && !(error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid)) return "The token is not a valid JWT.";
  return "The issuer's key set could not be fetched; try again.";
}

async function readPublicKey(file: string): Promise<KeyObject> {
  try {
    return createPublicKey(await readFile(file, "utf8"));
  } catch (error) {
    throw new RunbusError("config_invalid", `RUNBUS_GATEWAY_JWT_PUBLIC_KEY_FILE ${file} does not hold a PEM public key or certificate: ${messageOf(error)}.`);
  }
}
