import { z } from "zod";

/** Run and thread ids name Kafka topics and keys, so they keep to topic-safe characters. */
export const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

export const idSchema = z
  .string()
  .regex(ID_PATTERN, "must be 1 to 128 characters of letters, digits, '.', '_' or '-'");
