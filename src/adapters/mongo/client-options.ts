import type { MongoClientOptions } from "mongodb";
import type { RunbusConfig } from "../../config.js";

/**
 * The driver options runbus adds to the URI's: TLS verified against RUNBUS_MONGODB_TLS_CA_FILE.
 * Credentials and every other TLS option stay in the URI, where MongoDB's own tools read them too.
 */
export function mongoClientOptions(mongodb: Pick<NonNullable<RunbusConfig["mongodb"]>, "tlsCAFile">): MongoClientOptions {
  return mongodb.tlsCAFile ? { tls: true, tlsCAFile: mongodb.tlsCAFile } : {};
}
