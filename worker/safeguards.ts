/**
 * Output safeguards, around admit and forward: once the answer is known, an
 * enforced `degrade` loses its reasoning blocks (lib/safeguards.ts), and the
 * actions the policy names (`safeguards.notice`) carry a visible notice with
 * the appeal contact. Usage is still counted from the origin's own stream
 * (the settle tap sits before this transform): the trace was generated and
 * costs what it cost.
 */
import { createMiddleware } from "hono/factory";
import type { Action } from "../lib/decision.ts";
import type { Policy } from "../lib/policy/index.ts";
import { stripTraceJson, stripTraceStream } from "../lib/safeguards.ts";
import type { AppEnv } from "./context.ts";

/** The answer header that tells a client which enforced action shaped its answer. Documented; not x-distillguard-* (those are the origin's). */
export const NOTICE_HEADER = "distillguard-notice";

/** `degrade; appeal="https://…"`: the action only, never its reasons or the risk. */
export function noticeValue(action: Action, policy: Policy): string {
  const contact = policy.safeguards.appealContact;
  return contact === "" ? action : `${action}; appeal="${contact}"`;
}

function wantsNotice(action: Action, policy: Policy): boolean {
  const notice = policy.safeguards.notice;
  return (action === "degrade" && notice.degrade) || (action === "throttle" && notice.throttle) || (action === "block" && notice.block);
}

/** The answer without reasoning blocks; the same response when there is nothing to strip. */
export async function stripTraceAnswer(response: Response): Promise<Response> {
  if (response.status >= 300 || !response.body) return response;
  const type = response.headers.get("content-type") ?? "";
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  const init = { status: response.status, statusText: response.statusText, headers };
  if (type.includes("text/event-stream")) return new Response(response.body.pipeThrough(stripTraceStream()), init);
  if (!type.includes("json")) return response;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return new Response(text, init);
  }
  const stripped = stripTraceJson(parsed);
  return new Response(stripped === null ? text : JSON.stringify(stripped), init);
}

export function safeguards() {
  return createMiddleware<AppEnv>(async function safeguards(c, next) {
    await next();
    const decision = c.get("decision");
    if (!decision?.enforced) return;
    const policy = c.get("policy");
    if (decision.action === "degrade" && policy.safeguards.stripThinking) {
      const answer = await stripTraceAnswer(c.res);
      if (answer !== c.res) {
        // Hono's setter copies the old answer's headers onto the new one; a length must not survive that.
        c.res = answer;
        c.res.headers.delete("content-length");
      }
    }
    if (wantsNotice(decision.action, policy)) c.res.headers.set(NOTICE_HEADER, noticeValue(decision.action, policy));
  });
}
