import { isIPv4 } from "node:net";
import { RunbusError } from "../errors.js";
import { isAuthConfigured, type GatewayAuthConfig } from "./auth.js";

/** Whether `host` is an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost" || bare === "::1") return true;
  const v4 = bare.startsWith("::ffff:") ? bare.slice("::ffff:".length) : bare;
  return isIPv4(v4) && v4.startsWith("127.");
}

/**
 * Refuses to serve other machines without authentication: every thread and run would be open to
 * anyone who can reach the port. `allowUnauthenticated` is the explicit opt-out, for a gateway
 * behind a proxy that authenticates.
 */
export function assertServableBinding(host: string, auth: GatewayAuthConfig): void {
  if (isLoopback(host) || isAuthConfigured(auth) || auth.allowUnauthenticated) return;
  throw new RunbusError(
    "config_invalid",
    `The gateway will not listen on ${host} without authentication. Set RUNBUS_GATEWAY_API_KEYS_FILE, or RUNBUS_GATEWAY_JWT_SECRET / RUNBUS_GATEWAY_JWT_PUBLIC_KEY_FILE / RUNBUS_GATEWAY_JWKS_URL with RUNBUS_GATEWAY_JWT_ISSUER and RUNBUS_GATEWAY_JWT_AUDIENCE (docs/security.md); or, behind a proxy that authenticates, RUNBUS_GATEWAY_ALLOW_UNAUTHENTICATED=true.`,
  );
}
