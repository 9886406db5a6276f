/** `/admin/*`: the operator API, behind the admin token. */
import { Hono } from "hono";
import type { AppEnv } from "../context.ts";
import { body } from "../body.ts";
import { parseAccountId, parseUpsert, publicAccount, upsertAccount } from "./accounts.ts";
import { adminAuth } from "./auth.ts";

export function adminRoutes() {
  const admin = new Hono<AppEnv>();
  admin.use("*", adminAuth());

  admin.put("/accounts/:id", body(), async (c) => {
    const id = parseAccountId(c.req.param("id"));
    const input = parseUpsert(c.get("body").json);
    const { record, created } = await upsertAccount(c.env, id, input, c.get("policy").defaultTier);
    return c.json({ account: publicAccount(record) }, created ? 201 : 200);
  });

  return admin;
}
