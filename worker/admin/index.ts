/** `/admin/*`: the operator API, behind the admin token. One module per resource. */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context.ts";
import { accountRoutes } from "./accounts.ts";
import { auditRoutes } from "./audit.ts";
import { adminAuth } from "./auth.ts";
import { clusterRoutes } from "./clusters.ts";
import { indicatorImportRoutes } from "./indicator-imports.ts";
import { indicatorRoutes } from "./indicators.ts";
import { overrideRoutes } from "./overrides.ts";
import { policyRoutes } from "./policy.ts";
import { statsRoutes } from "./stats.ts";

/** Admin answers name accounts and their risk: no shared cache may keep one, whatever the status. */
const noStore = () =>
  createMiddleware<AppEnv>(async function noStore(c, next) {
    await next();
    c.res.headers.set("cache-control", "no-store");
  });

export function adminRoutes() {
  return new Hono<AppEnv>()
    .use("*", noStore(), adminAuth())
    .route("/accounts", accountRoutes())
    .route("/accounts", overrideRoutes())
    .route("/clusters", clusterRoutes())
    .route("/policy", policyRoutes())
    .route("/audit", auditRoutes())
    .route("/indicators/imports", indicatorImportRoutes())
    .route("/indicators", indicatorRoutes())
    .route("/stats", statsRoutes());
}
