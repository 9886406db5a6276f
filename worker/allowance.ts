/**
 * The allowances this isolate holds (lib/quota/allowance.ts has the rules): per account at most one
 * it admits within (`current`), the next one, asked for in the background once half of the current
 * one is spent (`next`, taken up when the current one runs out), and any that ended but still have
 * requests in flight (`draining`). What it admitted and what it gives back waits in a report per
 * account that rides on the account's next call (an admit, or the renewal), or goes alone in one
 * `reconcile` call when the allowance's time is up and no call came by. Entries come only from the
 * account object's answers, never from a client, and are bounded in number.
 */
import type { AdmitRequest, AdmitResult, AllowanceReport, RenewResult, SettleRequest } from "../lib/decision.ts";
import { accountObjectName } from "../lib/names.ts";
import {
  admitWithin,
  firstLeaseId,
  holdAllowance,
  isReturnable,
  localFit,
  localSnapshot,
  returnOf,
  settleWithin,
  wantsRenewal,
  type HeldAllowance,
  type LocalFit,
} from "../lib/quota/allowance.ts";
import { withRetry } from "../lib/retry.ts";

// 10,000 accounts holding one at once: an allowance lives seconds, so these are the isolate's busiest accounts.
const MAX_ACCOUNTS = 10_000;
// A report alone goes this long after the last request settled: long enough for an admit to carry it instead.
const RETURN_DELAY_MS = 100;
// A request waits this long at most for the call that renews its account's allowance, then asks the object itself,
// looking every RENEWAL_POLL_MS; a renewal older than RENEWAL_STALE_MS is taken for lost (its request died).
const RENEWAL_WAIT_MS = 250;
const RENEWAL_POLL_MS = 2;
const RENEWAL_STALE_MS = 2_000;
// A waitUntil may outlive its response by 30 s; a flush never waits longer than this.
const MAX_FLUSH_DELAY_MS = 25_000;

type Holder = { current: HeldAllowance | null; next: HeldAllowance | null; draining: HeldAllowance[] };

const holders = new Map<string, Holder>();
const byLease = new Map<string, { accountId: string; held: HeldAllowance }>();
const reports = new Map<string, AllowanceReport>();
/** When the admit call asking for this account's next allowance went out: requests that find none wait for it. */
const renewals = new Map<string, number>();
/** When each account's latest reconcile timer fires, so one timer serves every request meanwhile. */
const flushDue = new Map<string, number>();

function reportOf(accountId: string): AllowanceReport {
  let report = reports.get(accountId);
  if (!report) {
    report = { admitted: [], returned: [] };
    reports.set(accountId, report);
  }
  return report;
}

/** The account's holder here, made empty if it has none. */
function holderOf(accountId: string): Holder {
  let holder = holders.get(accountId);
  if (!holder) holders.set(accountId, (holder = { current: null, next: null, draining: [] }));
  return holder;
}

function drain(holder: Holder, held: HeldAllowance): void {
  held.ended = true;
  holder.draining.push(held);
}

/** Ends the current allowance, and the next takes its place; what ended is given back once nothing admitted within it is in flight. */
function end(holder: Holder): void {
  const held = holder.current;
  if (!held) return;
  drain(holder, held);
  holder.current = holder.next;
  holder.next = null;
}

/** Ends every allowance of the account here: something changed that the object must see. */
function endAll(holder: Holder): void {
  end(holder);
  end(holder);
}

/** Moves what is ready to be given back into the account's report. */
function sweep(accountId: string, now: number): void {
  const holder = holders.get(accountId);
  if (!holder) return;
  if (holder.next && now >= holder.next.expiresAt) {
    drain(holder, holder.next);
    holder.next = null;
  }
  if (holder.current && now >= holder.current.expiresAt) end(holder);
  const still: HeldAllowance[] = [];
  for (const held of holder.draining) {
    if (isReturnable(held, now)) reportOf(accountId).returned.push(returnOf(held));
    else still.push(held);
  }
  holder.draining = still;
  if (!holder.current && still.length === 0) holders.delete(accountId);
}

/** `renew`: this request is the one that should ask for the account's next allowance (renewAllowance), in the background. */
export type LocalOutcome = { decision: AdmitResult; renew: boolean } | { miss: LocalFit | "none" };

/**
 * Admits the request within the account's allowance (the next one when the current has run out), or
 * says why not. Anything but running out or busy slots ends every allowance for later requests too:
 * the object must see what changed.
 */
export function admitWithinAllowance(request: AdmitRequest, carriesVerdict: boolean, now: number): LocalOutcome {
  const accountId = request.account.id;
  sweep(accountId, now);
  const holder = holders.get(accountId);
  if (!holder?.current) return { miss: "none" };
  let fit = localFit(holder.current, request, carriesVerdict, now);
  if (fit === "spent" && holder.next) {
    end(holder);
    if (holder.current) fit = localFit(holder.current, request, carriesVerdict, now);
  }
  const held = holder.current;
  if (fit !== "fits" || !held) {
    if (fit === "changed") endAll(holder);
    else if (fit === "spent") end(holder);
    return { miss: fit };
  }
  const { leaseId, admission } = admitWithin(held, request, now);
  byLease.set(leaseId, { accountId, held });
  reportOf(accountId).admitted.push(admission);
  const renew = holder.next === null && wantsRenewal(held, now) && !renewing(accountId, now);
  return {
    renew,
    decision: {
      action: "allow",
      enforced: true,
      reasons: [],
      risk: held.risk,
      leaseId,
      retryAfterSeconds: 0,
      limits: localSnapshot(held),
      clusters: [],
      local: true,
    },
  };
}

/** Whether the call for the account's next allowance is out (and not so old that its request must have died). */
function renewing(accountId: string, now: number): boolean {
  const since = renewals.get(accountId);
  return since !== undefined && now - since < RENEWAL_STALE_MS;
}

/**
 * Waits, polling on this request's own timer, until the call that would get the account's next
 * allowance has answered or RENEWAL_WAIT_MS have passed; false at once when no such call is out.
 * Never a promise another request resolves: workerd refuses to resolve one across requests, and takes
 * a request that waits only on another request's events for hung.
 */
export async function awaitAllowanceRenewal(accountId: string): Promise<boolean> {
  if (!renewing(accountId, Date.now())) return false;
  const until = Date.now() + RENEWAL_WAIT_MS;
  while (renewing(accountId, Date.now()) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, RENEWAL_POLL_MS));
  return true;
}

let isolateId: string | null = null;

/** This isolate's id, as the account objects list it on the allowances it holds (made on first use: no randomness at start-up). */
function holderId(): string {
  isolateId ??= `isolate-${crypto.randomUUID()}`;
  return isolateId;
}

/** What an admit call for this account carries: the report waiting, and whether to ask for an allowance. */
export function allowanceFields(accountId: string, now: number): Pick<AdmitRequest, "wantsAllowance" | "holder" | "report"> {
  sweep(accountId, now);
  const fields: Pick<AdmitRequest, "wantsAllowance" | "holder" | "report"> = {};
  const wants = !holders.get(accountId)?.current && !renewing(accountId, now) && (holders.has(accountId) || holders.size < MAX_ACCOUNTS);
  if (wants) {
    fields.wantsAllowance = true;
    fields.holder = holderId();
  }
  const report = reports.get(accountId);
  if (report) {
    reports.delete(accountId);
    fields.report = report;
  }
  return fields;
}

/** Puts a report back after the call that carried it failed, so the next call carries it. */
export function restoreReport(accountId: string, report: AllowanceReport | undefined): void {
  if (!report) return;
  const waiting = reportOf(accountId);
  waiting.admitted.unshift(...report.admitted);
  waiting.returned.unshift(...report.returned);
}

/** Marks the renewal call out, so requests meanwhile wait for it instead of each asking the object. */
export function trackRenewal(accountId: string, call: Promise<unknown>): void {
  const since = Date.now();
  renewals.set(accountId, since);
  const done = () => {
    if (renewals.get(accountId) === since) renewals.delete(accountId);
  };
  call.then(done, done);
}

/** Keeps the allowance the object granted with this answer; `sentAt` is when the admit was sent (edge clock). */
export function installAllowance(request: AdmitRequest, result: AdmitResult, sentAt: number): void {
  const grant = result.allowance;
  if (!grant) return;
  const accountId = request.account.id;
  const held = holdAllowance(grant, request, sentAt, result.risk, result.limits);
  // The admit that got it is its first request: its settle comes here.
  byLease.set(firstLeaseId(grant), { accountId, held });
  const holder = holderOf(accountId);
  if (holder.current) {
    // Two answers raced: keep one, give the other back untouched.
    drain(holder, held);
    return;
  }
  holder.current = held;
}

/**
 * Asks the account object for the account's next allowance, in the background (for `waitUntil`),
 * after `request` was admitted within the current one; the report, that request's admission in it,
 * rides along. Requests that find the current one spent meanwhile wait for this call, as for an admit's.
 */
export async function renewAllowance(env: Env, request: AdmitRequest): Promise<void> {
  const accountId = request.account.id;
  const sentAt = Date.now();
  sweep(accountId, sentAt);
  const report = reports.get(accountId);
  reports.delete(accountId);
  const { account, policyJson, estimate, fingerprint } = request;
  const stub = env.ACCOUNTS.getByName(accountObjectName(accountId));
  // Not retried: a lost answer leaves the current allowance to run out, and the next request asks itself.
  const call = stub.renew({ account, policyJson, estimate, fingerprint, holder: holderId(), ...(report ? { report } : {}) });
  trackRenewal(accountId, call);
  let result: RenewResult;
  try {
    result = await call;
  } catch (err) {
    restoreReport(accountId, report);
    console.error(JSON.stringify({ msg: "allowance renewal failed; the account's next call carries its report", account: accountId, error: String(err) }));
    return;
  }
  installRenewal(request, result, sentAt);
  const flush = flushAllowanceReport(env, accountId, msUntilAllowanceEnds(accountId, Date.now()));
  if (flush) await flush;
}

/** Keeps the next allowance a renewal brought; one that says the account no longer qualifies ends what is held. */
function installRenewal(request: AdmitRequest, result: RenewResult, sentAt: number): void {
  const accountId = request.account.id;
  if (!result.qualifies) {
    const holder = holders.get(accountId);
    if (holder) endAll(holder);
    return;
  }
  const grant = result.allowance;
  if (!grant) return;
  const held = holdAllowance(grant, request, sentAt, result.risk, result.limits, false);
  const into = holderOf(accountId);
  if (!into.current) into.current = held;
  else if (!into.next) into.next = held;
  // An admit's grant came first: this one goes back untouched.
  else drain(into, held);
}

/**
 * Settles a request admitted within an allowance, here: "returned" when that made its allowance ready
 * to be given back, "settled" otherwise, null when the lease is the object's own.
 */
export function settleWithinAllowance(settle: SettleRequest, now: number): { accountId: string; returned: boolean } | null {
  const entry = byLease.get(settle.leaseId);
  if (!entry) return null;
  byLease.delete(settle.leaseId);
  settleWithin(entry.held, settle);
  const { accountId, held } = entry;
  const holder = holders.get(accountId);
  if (holder?.current === held && now >= held.expiresAt) end(holder);
  return { accountId, returned: isReturnable(held, now) };
}

/**
 * Sends the account's report in one `reconcile` call after `delayMs`, unless a call has carried it
 * by then. A timer already due at or after this one serves this call too (null: nothing to wait for,
 * and no `waitUntil` to pay for on a request admitted here); one due earlier (an earlier allowance's
 * end) does not, so the latest allowance always has a timer that sees it end, and that earlier one
 * then sends nothing. For `waitUntil`.
 */
export function flushAllowanceReport(env: Env, accountId: string, delayMs: number): Promise<void> | null {
  const now = Date.now();
  const dueAt = now + Math.min(MAX_FLUSH_DELAY_MS, Math.max(0, delayMs));
  const pending = flushDue.get(accountId);
  // A timer past its time by a whole flush delay never ran (its waitUntil was cut short): replace it.
  if (pending !== undefined && pending >= dueAt && pending > now - MAX_FLUSH_DELAY_MS) return null;
  flushDue.set(accountId, dueAt);
  return sendReportAt(env, accountId, dueAt, dueAt - now);
}

async function sendReportAt(env: Env, accountId: string, dueAt: number, delayMs: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  const latest = flushDue.get(accountId);
  // A later allowance's timer took over (its end is later): it, or the account's next call, carries the
  // report; sending it now would be a call per allowance for an account whose renewals carry it anyway.
  if (latest !== undefined && latest > dueAt) return;
  flushDue.delete(accountId);
  sweep(accountId, Date.now());
  const report = reports.get(accountId);
  if (!report) return;
  reports.delete(accountId);
  try {
    const stub = env.ACCOUNTS.getByName(accountObjectName(accountId));
    await withRetry(() => stub.reconcile(report));
  } catch (err) {
    // Kept for the account's next call (an admit, or the reconcile of the next allowance's end): the
    // samples and decisions in it are the object's only record of those requests. Unreturned
    // allowances stay counted until their deadline meanwhile (never over-admission).
    restoreReport(accountId, report);
    console.error(JSON.stringify({ msg: "allowance report failed; kept for the next call", account: accountId, admitted: report.admitted.length, error: String(err) }));
  }
}

/** How long until the last allowance the account holds here runs out, for the timer that reports it. */
export function msUntilAllowanceEnds(accountId: string, now: number): number {
  const holder = holders.get(accountId);
  const held = holder?.next ?? holder?.current;
  return held ? Math.max(0, held.expiresAt - now) + RETURN_DELAY_MS : RETURN_DELAY_MS;
}

export { RETURN_DELAY_MS };

/** This isolate's holder id (tests, diagnostics). */
export function allowanceHolderId(): string {
  return holderId();
}

/** Forget everything held (tests: a fresh isolate). */
export function forgetAllowances(): void {
  holders.clear();
  byLease.clear();
  reports.clear();
  renewals.clear();
  flushDue.clear();
}
