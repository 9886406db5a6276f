/**
 * Operator overrides on one account (block / allow / quota multiplier), held by
 * the AccountDO so the next admission sees them with no extra read. Setting and
 * clearing both land in the audit log with the operator's reason.
 */
import { Hono } from "hono";
import * as z from "../../lib/zod.ts";
import type { Override } from "../../lib/decision.ts";
import { withRetry } from "../../lib/retry.ts";
import type { AppEnv } from "../context.ts";
import { accountStub, findAccount, parseAccountId } from "./accounts.ts";
import { writeAudit } from "./audit.ts";
import { adminBody, notFound, parse, parseBody, parseQuery } from "./validate.ts";

const overrideKind = z.enum(["block", "allow", "quota"]);

// A year: longer than that is "until removed", which is what omitting the expiry means.
const MAX_EXPIRY_SECONDS = 366 * 86_400;

const overrideBody = z
  .strictObject({
    kind: overrideKind,
    multiplier: z.optional(z.number().check(z.positive(), z.maximum(100))),
    reason: z.string().check(z.trim(), z.minLength(1), z.maxLength(500)),
    expiresInSeconds: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(MAX_EXPIRY_SECONDS))),
    expiresAt: z.optional(z.iso.datetime({ offset: true })),
  })
  .check(
    z.superRefine((o, ctx) => {
      if (o.kind === "quota" && o.multiplier === undefined) {
        ctx.addIssue({ code: "custom", path: ["multiplier"], message: "required when kind is quota" });
      }
      if (o.kind !== "quota" && o.multiplier !== undefined) {
        ctx.addIssue({ code: "custom", path: ["multiplier"], message: "only allowed when kind is quota" });
      }
      if (o.expiresAt !== undefined && o.expiresInSeconds !== undefined) {
        ctx.addIssue({ code: "custom", path: ["expiresAt"], message: "give expiresAt or expiresInSeconds, not both" });
      }
      if (o.expiresAt !== undefined && Date.parse(o.expiresAt) <= Date.now()) {
        ctx.addIssue({ code: "custom", path: ["expiresAt"], message: "must be in the future" });
      }
    }),
  );

const clearQuery = z.strictObject({ reason: z.optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(500))) });

function isActive(o: Override, now: number): boolean {
  return o.expiresAt === null || o.expiresAt > now;
}

export function overrideRoutes() {
  const routes = new Hono<AppEnv>();

  routes.post("/:id/overrides", adminBody(), async (c) => {
    const id = parseAccountId(c.req.param("id"));
    const input = parseBody(c, overrideBody);
    await findAccount(c.env, id);
    const now = Date.now();
    const override: Override = {
      kind: input.kind,
      multiplier: input.kind === "quota" ? (input.multiplier ?? null) : null,
      reason: input.reason,
      expiresAt:
        input.expiresAt !== undefined
          ? Date.parse(input.expiresAt)
          : input.expiresInSeconds !== undefined
            ? now + input.expiresInSeconds * 1000
            : null,
      createdAt: now,
    };
    const stub = accountStub(c.env, id);
    await withRetry(() => stub.setOverride(override));
    await writeAudit(c.env.DB, {
      kind: "override",
      action: override.kind,
      accountId: id,
      detail: {
        op: "set",
        reason: override.reason,
        multiplier: override.multiplier,
        expiresAt: override.expiresAt === null ? null : new Date(override.expiresAt).toISOString(),
      },
    });
    return c.json({ override }, 201);
  });

  routes.delete("/:id/overrides/:kind", async (c) => {
    const id = parseAccountId(c.req.param("id"));
    const kind = parse(overrideKind, c.req.param("kind"), "path");
    const { reason } = parseQuery(c, clearQuery);
    await findAccount(c.env, id);
    const stub = accountStub(c.env, id);
    const state = await withRetry(() => stub.inspect());
    const now = Date.now();
    const existing = state.overrides.find((o) => o.kind === kind && isActive(o, now));
    if (!existing) throw notFound(`${kind} override on account ${id}`);
    await withRetry(() => stub.clearOverride(kind));
    await writeAudit(c.env.DB, {
      kind: "override",
      action: `clear_${kind}`,
      accountId: id,
      detail: { op: "clear", reason: reason ?? null, overrideReason: existing.reason },
    });
    return c.json({ cleared: existing });
  });

  return routes;
}
