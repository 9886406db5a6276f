/**
 * The Hono environment: bindings and the per-request variables, typed once.
 * Types only, from lib/ and nothing in worker/, so every step can import it
 * without a circle.
 */
import type { AccountProfile, AdmitResult } from "../lib/decision.ts";
import type { Policy } from "../lib/policy.ts";
import type { Fingerprint } from "../lib/fingerprint/index.ts";
import type { RegionVerdict } from "../lib/region/index.ts";

export type GatewayEnv = Env & { ADMIN_TOKEN?: string };

/** The request body, read once by the body step and shared by fingerprinting, admission and the forwarder. */
export type RequestBody = {
  /** The raw bytes as the client sent them (null for bodiless requests). */
  bytes: Uint8Array | null;
  /** The parsed JSON value when the body is JSON, else undefined. */
  json: unknown;
};

export type AppEnv = {
  Bindings: GatewayEnv;
  Variables: {
    requestId: string;
    startedAt: number;
    policy: Policy;
    account: AccountProfile;
    /** The API key identity authenticated: the only credential the origin is sent. */
    apiKey: string;
    body: RequestBody;
    fingerprint: Fingerprint;
    region: RegionVerdict;
    decision: AdmitResult;
  };
};
