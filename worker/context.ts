/**
 * The Hono environment: bindings and the per-request variables, typed once.
 * Types only, from lib/ and nothing in worker/, so every step can import it
 * without a circle.
 */
import type { AccountProfile, AdmitResult } from "../lib/decision.ts";
import type { Endpoint } from "../lib/endpoints.ts";
import type { BatchFingerprint } from "../lib/fingerprint/batch.ts";
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
  /** A Message Batch's contained requests (each one's `params`), in order; absent for every other route. */
  contained?: Record<string, unknown>[];
};

/** The route being served: how it is metered, and the canonical origin path it is forwarded to. */
export type RouteMatch = Endpoint & { originPath: string };

export type AppEnv = {
  Bindings: GatewayEnv;
  Variables: {
    requestId: string;
    startedAt: number;
    policy: Policy;
    account: AccountProfile;
    endpoint: RouteMatch;
    /** The API key identity authenticated: the only credential the origin is sent. */
    apiKey: string;
    body: RequestBody;
    fingerprint: Fingerprint;
    /** A Message Batch's fingerprint over its contained requests; absent for every other route. */
    batch?: BatchFingerprint;
    region: RegionVerdict;
    decision: AdmitResult;
  };
};
