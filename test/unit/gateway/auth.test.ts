import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { SignJWT, exportJWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { ApiKeys } from "../../../src/gateway/api-keys.js";
import { GatewayAuthenticator, authMiddleware, ownerOf, type AuthResult } from "../../../src/gateway/auth.js";
import { assertServableBinding, isLoopback } from "../../../src/gateway/binding.js";
import { JwtVerifier } from "../../../src/gateway/jwt.js";
import { silentLogger } from "../../../src/logger.js";

const ALICE_KEY = "alice-key-0123456789abcdef";
const BOB_KEY = "bob-key-0123456789abcdef";
const SECRET = "a-shared-secret-of-at-least-32-characters!";
const ISSUER = "https://issuer.test/";
const AUDIENCE = "runbus-gateway";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "runbus-auth-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

function hs256(claims: Record<string, unknown>, options: { secret?: string; issuer?: string; audience?: string; expiresIn?: string | number } = {}): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setExpirationTime(options.expiresIn ?? "5m");
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const refusal = (code: string) => expect.objectContaining({ ok: false, code });
const identity = (subject: string, method: "api_key" | "jwt"): AuthResult => ({ ok: true, identity: { subject, method } });

describe("API keys from a file", () => {
  it("maps each key to its identity, from x-api-key or a bearer token, and refuses any other key", async () => {
    const hashed = createHash("sha256").update(BOB_KEY).digest("hex");
    const path = await file("keys.json", JSON.stringify({ [ALICE_KEY]: "alice", [`sha256:${hashed}`]: "bob" }));
    const auth = await GatewayAuthenticator.create(loadConfig({ RUNBUS_GATEWAY_API_KEYS_FILE: path }).gateway.auth);
    expect(auth).not.toBeNull();
    expect(await auth!.authenticate({ apiKey: ALICE_KEY })).toEqual(identity("alice", "api_key"));
    expect(await auth!.authenticate(bearer(BOB_KEY))).toEqual(identity("bob", "api_key"));
    expect(await auth!.authenticate({ apiKey: `${ALICE_KEY}x` })).toEqual(refusal("invalid_credentials"));
    expect(await auth!.authenticate({ apiKey: hashed })).toEqual(refusal("invalid_credentials"));
    // Authorization wins over x-api-key (the SDK may add one from LANGSMITH_API_KEY).
    expect(await auth!.authenticate({ ...bearer(BOB_KEY), apiKey: ALICE_KEY })).toEqual(identity("bob", "api_key"));
  });

  it("answers a request without credentials unauthenticated, and a non-bearer Authorization invalid", async () => {
    const auth = GatewayAuthenticator.of({ apiKeys: ApiKeys.from({ [ALICE_KEY]: "alice" }) });
    expect(await auth.authenticate({})).toEqual(refusal("unauthenticated"));
    expect(await auth.authenticate({ apiKey: "  " })).toEqual(refusal("unauthenticated"));
    expect(await auth.authenticate({ authorization: `Basic ${ALICE_KEY}` })).toEqual(refusal("invalid_credentials"));
  });

  it("refuses a file that is missing, not JSON, not a map, with a short key or a bad identity — without quoting a key", async () => {
    const load = async (content: string) => ApiKeys.load(await file("bad.json", content));
    await expect(ApiKeys.load(join(dir, "missing.json"))).rejects.toMatchObject({ code: "config_invalid" });
    await expect(load(`{"${ALICE_KEY}": "alice",`)).rejects.toMatchObject({ code: "config_invalid", message: expect.not.stringContaining(ALICE_KEY) });
    await expect(load(`["${ALICE_KEY}"]`)).rejects.toMatchObject({ code: "config_invalid" });
    await expect(load(`{"short": "alice"}`)).rejects.toMatchObject({ code: "config_invalid", message: expect.not.stringContaining("short") });
    await expect(load(`{"${ALICE_KEY}": ""}`)).rejects.toMatchObject({ code: "config_invalid", message: expect.not.stringContaining(ALICE_KEY) });
    await expect(load(`{}`)).rejects.toMatchObject({ code: "config_invalid" });
  });
});

describe("HS256 JWTs", () => {
  const config = () => loadConfig({ RUNBUS_GATEWAY_JWT_SECRET: SECRET, RUNBUS_GATEWAY_JWT_ISSUER: ISSUER, RUNBUS_GATEWAY_JWT_AUDIENCE: AUDIENCE }).gateway.auth;

  it("takes the identity from sub, as a bearer token or as the SDK's apiKey", async () => {
    const auth = (await GatewayAuthenticator.create(config()))!;
    const token = await hs256({ sub: "alice" });
    expect(await auth.authenticate(bearer(token))).toEqual(identity("alice", "jwt"));
    expect(await auth.authenticate({ apiKey: token })).toEqual(identity("alice", "jwt"));
  });

  it("refuses an expired token, a wrong issuer or audience, another secret, no sub, and a plain key", async () => {
    const auth = (await GatewayAuthenticator.create(config()))!;
    const expired = await auth.authenticate(bearer(await hs256({ sub: "alice" }, { expiresIn: Math.floor(Date.now() / 1000) - 60 })));
    expect(expired).toEqual({ ok: false, code: "invalid_credentials", message: "The token has expired." });
    const wrongIssuer = await auth.authenticate(bearer(await hs256({ sub: "alice" }, { issuer: "https://other.test/" })));
    expect(wrongIssuer).toEqual({ ok: false, code: "invalid_credentials", message: expect.stringContaining("iss claim") });
    const wrongAudience = await auth.authenticate(bearer(await hs256({ sub: "alice" }, { audience: "another-api" })));
    expect(wrongAudience).toEqual({ ok: false, code: "invalid_credentials", message: expect.stringContaining("aud claim") });
    const forged = await hs256({ sub: "alice" }, { secret: "another-secret-that-is-32-characters-long" });
    expect(await auth.authenticate(bearer(forged))).toEqual({ ok: false, code: "invalid_credentials", message: "The token's signature does not verify." });
    expect(await auth.authenticate(bearer(await hs256({})))).toEqual(refusal("invalid_credentials"));
    expect(await auth.authenticate({ apiKey: ALICE_KEY })).toEqual(refusal("invalid_credentials"));
  });

  it("requires an issuer, an audience, one key source and a long enough secret", () => {
    expect(() => loadConfig({ RUNBUS_GATEWAY_JWT_SECRET: SECRET, RUNBUS_GATEWAY_JWT_AUDIENCE: AUDIENCE })).toThrow(/RUNBUS_GATEWAY_JWT_ISSUER is required/);
    expect(() => loadConfig({ RUNBUS_GATEWAY_JWT_SECRET: SECRET, RUNBUS_GATEWAY_JWT_ISSUER: ISSUER })).toThrow(/RUNBUS_GATEWAY_JWT_AUDIENCE is required/);
    expect(() => loadConfig({ RUNBUS_GATEWAY_JWT_ISSUER: ISSUER, RUNBUS_GATEWAY_JWT_AUDIENCE: AUDIENCE })).toThrow(/exactly one of/);
    const short = "short-secret-value";
    expect(() => loadConfig({ RUNBUS_GATEWAY_JWT_SECRET: short, RUNBUS_GATEWAY_JWT_ISSUER: ISSUER, RUNBUS_GATEWAY_JWT_AUDIENCE: AUDIENCE })).toThrow(
      expect.objectContaining({ code: "config_invalid", message: expect.stringMatching(/^(?!.*short-secret-value).*at least 32/) }),
    );
  });
});

describe("RS256 JWTs", () => {
  const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const rs256 = (claims: Record<string, unknown>, key = pair.privateKey) =>
    new SignJWT(claims).setProtectedHeader({ alg: "RS256" }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime("5m").sign(key);

  it("verifies tokens against a PEM public key file, and refuses another key's and an HS256 token signed with the public key", async () => {
    const pem = await file("public.pem", pair.publicKey.export({ type: "spki", format: "pem" }).toString());
    const config = loadConfig({ RUNBUS_GATEWAY_JWT_PUBLIC_KEY_FILE: pem, RUNBUS_GATEWAY_JWT_ISSUER: ISSUER, RUNBUS_GATEWAY_JWT_AUDIENCE: AUDIENCE }).gateway.auth;
    const auth = (await GatewayAuthenticator.create(config))!;
    expect(await auth.authenticate(bearer(await rs256({ sub: "carol" })))).toEqual(identity("carol", "jwt"));
    expect(await auth.authenticate(bearer(await rs256({ sub: "carol" }, other.privateKey)))).toEqual(refusal("invalid_credentials"));
    // Algorithm confusion: the public key's PEM text used as an HMAC secret.
    const confused = await hs256({ sub: "carol" }, { secret: pair.publicKey.export({ type: "spki", format: "pem" }).toString() });
    expect(await auth.authenticate(bearer(confused))).toEqual({ ok: false, code: "invalid_credentials", message: "The token's signing algorithm is not accepted." });
  });

  it("verifies tokens against a JWKS URL, picking the key by kid", async () => {
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    const server = createServer((_, response) => response.setHeader("content-type", "application/json").end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
      const auth = (await GatewayAuthenticator.create(loadConfig({ RUNBUS_GATEWAY_JWKS_URL: url, RUNBUS_GATEWAY_JWT_ISSUER: ISSUER, RUNBUS_GATEWAY_JWT_AUDIENCE: AUDIENCE }).gateway.auth))!;
      const signed = (key = pair.privateKey) =>
        new SignJWT({ sub: "dave" }).setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime("5m").sign(key);
      expect(await auth.authenticate(bearer(await signed()))).toEqual(identity("dave", "jwt"));
      expect(await auth.authenticate(bearer(await signed(other.privateKey)))).toEqual(refusal("invalid_credentials"));
    } finally {
      server.close();
    }
  });

  it("refuses a file that holds no key, and HS algorithms with a public key", async () => {
    const notPem = await file("not.pem", "hello");
    await expect(JwtVerifier.create({ publicKeyFile: notPem, issuer: ISSUER, audience: AUDIENCE })).rejects.toMatchObject({ code: "config_invalid" });
    const pem = await file("public2.pem", pair.publicKey.export({ type: "spki", format: "pem" }).toString());
    await expect(JwtVerifier.create({ publicKeyFile: pem, algorithms: ["HS256"], issuer: ISSUER, audience: AUDIENCE })).rejects.toMatchObject({ code: "config_invalid" });
  });
});

describe("the middleware", () => {
  function app(auth: GatewayAuthenticator): Hono {
    const api = new Hono();
    api.use("*", authMiddleware(auth, silentLogger()));
    api.get("/ok", (c) => c.json({ ok: true }));
    api.get("/info", (c) => c.json({ version: "x" }));
    api.get("/threads", (c) => c.json({ owner: ownerOf(c) }));
    return api;
  }
  const auth = GatewayAuthenticator.of({ apiKeys: ApiKeys.from({ [ALICE_KEY]: "alice" }) });

  it("leaves /ok and /info open, answers 401 with a stable code and WWW-Authenticate, and puts the identity on the context", async () => {
    expect((await app(auth).request("/ok")).status).toBe(200);
    expect((await app(auth).request("/info")).status).toBe(200);
    const missing = await app(auth).request("/threads");
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await missing.json()).toEqual({ detail: expect.stringContaining("requires credentials"), code: "unauthenticated" });
    const wrong = await app(auth).request("/threads", { headers: { "x-api-key": "not-a-key-of-anyone" } });
    expect(wrong.status).toBe(401);
    const body = (await wrong.json()) as { code: string; detail: string };
    expect(body.code).toBe("invalid_credentials");
    expect(body.detail).not.toContain("not-a-key-of-anyone");
    const ok = await app(auth).request("/threads", { headers: { "x-api-key": ALICE_KEY } });
    expect(await ok.json()).toEqual({ owner: "alice" });
  });
});

describe("binding", () => {
  const off = loadConfig({}).gateway.auth;

  it("tells loopback addresses from others", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) expect(isLoopback(host), host).toBe(true);
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "example.com", "::ffff:10.0.0.1"]) expect(isLoopback(host), host).toBe(false);
  });

  it("refuses a non-loopback address without authentication unless told to allow it", () => {
    expect(() => assertServableBinding("127.0.0.1", off)).not.toThrow();
    expect(() => assertServableBinding("0.0.0.0", off)).toThrow(expect.objectContaining({ code: "config_invalid", message: expect.stringContaining("RUNBUS_GATEWAY_API_KEYS_FILE") }));
    expect(() => assertServableBinding("0.0.0.0", loadConfig({ RUNBUS_GATEWAY_ALLOW_UNAUTHENTICATED: "true" }).gateway.auth)).not.toThrow();
    expect(() => assertServableBinding("0.0.0.0", { ...off, apiKeysFile: "/keys.json" })).not.toThrow();
  });
});
