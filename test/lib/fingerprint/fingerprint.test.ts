import { describe, expect, it } from "vitest";
import { clusterKeysOf, fingerprintRequest, summarizeFingerprint, summary } from "../../../lib/fingerprint/index.ts";
import { DEFAULT_POLICY, type Policy } from "../../../lib/policy/index.ts";
import { AWS_NODE_CF, CURL_HEADERS, input, messagesBody, policyWith } from "./helpers.ts";

const SYSTEM = "You are Acme Code, a coding assistant. Follow the repository's conventions and keep answers short.";

describe("fingerprintRequest", () => {
  it("should produce every key with its kind prefix", async () => {
    const fp = await fingerprintRequest(input({ body: messagesBody(SYSTEM, "Refactor the payment module so that retries use exponential backoff with jitter and a cap.") }));
    expect(fp.keys.asn).toBe("asn:16509");
    expect(fp.keys.prefix).toBe("prefix:203.0.113.0/24");
    expect(fp.keys.tls).toMatch(/^tls:[0-9a-f]{16}$/);
    expect(fp.keys.sdk).toMatch(/^sdk:[0-9a-f]{16}$/);
    expect(fp.keys.headers).toMatch(/^headers:[0-9a-f]{16}$/);
    expect(fp.keys.system).toMatch(/^system:[0-9a-f]{16}$/);
    expect(fp.keys.system?.slice(7)).toBe(fp.content.systemSha256?.slice(0, 16));
    expect(fp.keys.template).toHaveLength(4);
    fp.keys.template.forEach((key, band) => expect(key).toMatch(new RegExp(`^tpl:${band}:[0-9a-f]{4}$`)));
    expect(fp.keys.combo).toEqual([expect.stringMatching(/^tls\+sdk:[0-9a-f]{16}$/)]);
    expect(fp.simhash).toMatch(/^[0-9a-f]{16}$/);
  });

  it("should give the same client the same keys on every request", async () => {
    const a = await fingerprintRequest(input());
    const b = await fingerprintRequest(input());
    expect(b.keys).toEqual(a.keys);
    expect(b.simhash).toBe(a.simhash);
  });

  it("should keep client keys when only the prompt changes, and change them when the client changes", async () => {
    const a = await fingerprintRequest(input());
    const b = await fingerprintRequest(input({ body: messagesBody("Other system prompt", "A different question entirely") }));
    const c = await fingerprintRequest(input({ headers: new Headers(CURL_HEADERS) }));
    expect([b.keys.tls, b.keys.sdk, b.keys.headers]).toEqual([a.keys.tls, a.keys.sdk, a.keys.headers]);
    expect(b.keys.system).not.toBe(a.keys.system);
    expect(c.keys.headers).not.toBe(a.keys.headers);
    expect(c.keys.sdk).toBeNull();
  });

  it("should not change the headers key with the API key or per-request headers", async () => {
    const a = await fingerprintRequest(input());
    const headers = new Headers(input().headers);
    headers.set("authorization", "Bearer another-key");
    headers.set("content-length", "9999");
    headers.set("x-stainless-retry-count", "2");
    headers.set("cf-ray", "123-IAD");
    const b = await fingerprintRequest(input({ headers }));
    expect(b.keys.headers).toBe(a.keys.headers);
  });

  it("should build the combinations the policy asks for, skipping ones with a missing part", async () => {
    // The schema refuses unknown kinds; the last two get past it here to show the fingerprint code is safe anyway.
    const combinations = [["asn", "tls"], ["prefix", "sdk", "headers"], ["asn", "template"], ["tls", "nonsense"], ["asn", "constructor"]];
    const valid = policyWith({});
    const policy: Policy = { ...valid, clusters: { ...valid.clusters, combinations: combinations as unknown as Policy["clusters"]["combinations"] } };
    const fp = await fingerprintRequest(input({ policy, body: messagesBody(SYSTEM, "Please write unit tests for the date parsing helpers in utils and cover leap years.") }));
    const names = fp.keys.combo.map((key) => key.slice(0, key.indexOf(":")));
    expect(names).toEqual(["asn+tls", "prefix+sdk+headers", "asn+template", "asn+template", "asn+template", "asn+template"]);
    const noCf = await fingerprintRequest(input({ policy, cf: undefined }));
    expect(noCf.keys.combo.filter((key) => key.startsWith("asn"))).toEqual([]);
  });

  it("should read the capability and elicitation from the body", async () => {
    const fp = await fingerprintRequest(
      input({
        body: messagesBody(undefined, "Think step by step and show all reasoning. Then generate 20 examples in JSONL for fine-tuning.", {
          thinking: { type: "enabled", budget_tokens: 8000 },
        }),
      }),
    );
    expect(fp.capability.thinking).toBe(true);
    expect(fp.capability.thinkingBudget).toBe(8000);
    expect(fp.elicitation.score).toBeGreaterThanOrEqual(DEFAULT_POLICY.fingerprint.elicitationThreshold);
    expect(fp.keys.system).toBeNull();
  });
});

describe("allow-listed system prompts", () => {
  it("should mark the template allow-listed and keep its users out of system/template clusters", async () => {
    const plain = await fingerprintRequest(input({ body: messagesBody(SYSTEM, "Rename the variable x to count everywhere in the parser module please.") }));
    const hash = plain.content.systemSha256 ?? "";
    const policy = policyWith({ allowedSystemPromptHashes: [hash] });
    const allowed = await fingerprintRequest(input({ policy, body: messagesBody(SYSTEM, "Rename the variable x to count everywhere in the parser module please.") }));
    expect(plain.templateAllowlisted).toBe(false);
    expect(allowed.templateAllowlisted).toBe(true);
    const keys = clusterKeysOf(allowed, policy);
    expect(keys).not.toContain(allowed.keys.system);
    expect(keys.some((key) => key.startsWith("tpl:"))).toBe(false);
    // The SimHash then reflects only what the user wrote.
    expect(allowed.simhash).not.toBe(plain.simhash);
  });

  it("should emit no wrapper keys for an allow-listed prompt's users, though the same turn has them otherwise", async () => {
    const user =
      "Context from the editor follows; answer the question after it and cite file names.\n" +
      "src/parser.ts exports parseDate and parseTime, both of which throw on empty strings.\n" +
      "Question from the developer, to be answered in the style of the repository:\nWhy does parseDate throw here?";
    const plain = await fingerprintRequest(input({ body: messagesBody(SYSTEM, user) }));
    expect(plain.keys.wrapper.length).toBeGreaterThan(0);
    expect(clusterKeysOf(plain, DEFAULT_POLICY)).toEqual(expect.arrayContaining(plain.keys.wrapper));
    const policy = policyWith({ allowedSystemPromptHashes: [plain.content.systemSha256 ?? ""] });
    const allowed = await fingerprintRequest(input({ policy, body: messagesBody(SYSTEM, user) }));
    expect(clusterKeysOf(allowed, policy).some((key) => key.startsWith("wrap:"))).toBe(false);
  });

  it("should not let an allow-listed prompt's own wording raise the elicitation score", async () => {
    const system = "Always think step by step and write out your full chain of thought before answering.";
    const plain = await fingerprintRequest(input({ body: messagesBody(system, "What is the capital of Australia?") }));
    const policy = policyWith({ allowedSystemPromptHashes: [plain.content.systemSha256 ?? ""] });
    const allowed = await fingerprintRequest(input({ policy, body: messagesBody(system, "What is the capital of Australia?") }));
    // The model never says exactly 0, so "not raised" means: scored as if the user had sent no system prompt.
    const alone = await fingerprintRequest(input({ body: messagesBody(undefined, "What is the capital of Australia?") }));
    expect(plain.elicitation.score).toBeGreaterThanOrEqual(0.5);
    expect(allowed.elicitation).toEqual(alone.elicitation);
    expect(allowed.elicitation.score).toBeLessThan(0.5);
  });
});

describe("cluster keys", () => {
  it("should list every non-null key and drop the policy's allow-listed ones", async () => {
    const fp = await fingerprintRequest(
      input({ body: messagesBody(SYSTEM, "Add pagination to the orders endpoint and document the cursor format for clients. Keep it short.") }),
    );
    expect(fp.keys.wrapper).toEqual([expect.stringMatching(/^wrap:p:[0-9a-f]{16}$/)]);
    const all = clusterKeysOf(fp, DEFAULT_POLICY);
    expect(all).toEqual(
      expect.arrayContaining([
        "asn:16509",
        "prefix:203.0.113.0/24",
        fp.keys.tls,
        fp.keys.sdk,
        fp.keys.headers,
        fp.keys.system,
        ...fp.keys.template,
        ...fp.keys.wrapper,
        ...fp.keys.combo,
      ]),
    );
    const trimmed = clusterKeysOf(fp, policyWith({}, { allowlist: ["asn:16509", fp.keys.headers] }));
    expect(trimmed).not.toContain("asn:16509");
    expect(trimmed).not.toContain(fp.keys.headers);
    expect(trimmed).toHaveLength(all.length - 2);
  });

  it("should have no null or unknown keys when cf, IP and body are missing", async () => {
    const fp = await fingerprintRequest(input({ cf: undefined, ip: null, body: undefined }));
    expect(clusterKeysOf(fp, DEFAULT_POLICY)).toEqual([fp.keys.sdk, fp.keys.headers, ...fp.keys.combo].filter((key) => key !== null));
  });
});

describe("summary", () => {
  it("should be compact printable ASCII without prompt text or credentials", async () => {
    const fp = await fingerprintRequest(
      input({
        headers: new Headers({ ...Object.fromEntries(input().headers), "x-stainless-os": "Lïnux;=evil\u0007" }),
        cf: { ...AWS_NODE_CF, asOrganization: "Ünïcode Org" },
        body: messagesBody("TOP-SECRET-SYSTEM", "Show all your reasoning step by step, secret-user-text."),
      }),
    );
    const line = summary(fp);
    expect(line).toMatch(/^[\x21-\x7e]{1,512}$/);
    expect(line).toContain("asn=16509");
    expect(line).toContain("elic=");
    expect(line).toContain("mismatch=0");
    expect(line).toMatch(/;wrap=(-|[ps]:[0-9a-f]{16}(,[ps]:[0-9a-f]{16})?)$/);
    for (const secret of ["TOP-SECRET", "secret-user-text", "sk-ant", "SECRET", "evil"]) expect(line).not.toContain(secret);
    expect(summarizeFingerprint(fp)).toBe(line);
  });

  it("should hold every field as name=value separated by semicolons", async () => {
    const line = summary(await fingerprintRequest(input({ cf: undefined, ip: null, body: undefined })));
    for (const field of line.split(";")) expect(field).toMatch(/^[a-z]+=[^;=]+$/);
    expect(line).toContain("asn=-");
  });
});
