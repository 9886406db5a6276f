/** The Hono environment: bindings and the per-request variables, typed once. */
import type { AccountProfile, AdmitResult } from "../lib/decision.ts";
import type { Policy } from "../lib/policy.ts";
import type { Fingerprint } from "../lib/fingerprint/index.ts";
import type { RegionVerdict } from "../lib/region/index.ts";
import type { RequestBody } from "./body.ts";

export type GatewayEnv = Env & { ADMIN_TOKEN?: string };

export type AppEnv = {
  Bindings: GatewayEnv;
  Variables: {
    requestId: string;
    startedAt: number;
    policy: Policy;
    account: AccountProfile;
    body: RequestBody;
    fingerprint: Fingerprint;
    region: RegionVerdict;
    decision: AdmitResult;
  };
};
