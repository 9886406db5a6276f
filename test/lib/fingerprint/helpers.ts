import type { FingerprintInput } from "../../../lib/fingerprint/index.ts";
import { DEFAULT_POLICY, type Policy, type PolicyInput, policySchema } from "../../../lib/policy/index.ts";

/** Headers exactly as @anthropic-ai/sdk 1.10.0 sends them from Node 22 (captured from a real request). */
export const NODE_SDK_HEADERS: Record<string, string> = {
  accept: "application/json",
  "accept-encoding": "gzip, deflate",
  "accept-language": "*",
  "anthropic-version": "2023-06-01",
  authorization: "Bearer sk-ant-test-SECRET",
  "content-length": "80",
  "content-type": "application/json",
  "sec-fetch-mode": "cors",
  "user-agent": "Anthropic/JS 1.10.0",
  "x-stainless-arch": "x64",
  "x-stainless-lang": "js",
  "x-stainless-os": "Linux",
  "x-stainless-package-version": "1.10.0",
  "x-stainless-retry-count": "0",
  "x-stainless-runtime": "node",
  "x-stainless-runtime-version": "v22.23.3",
  "x-stainless-timeout": "600",
};

export const PYTHON_SDK_HEADERS: Record<string, string> = {
  accept: "application/json",
  "accept-encoding": "gzip, deflate",
  "anthropic-version": "2023-06-01",
  "content-type": "application/json",
  "user-agent": "Anthropic/Python 0.40.0",
  "x-api-key": "sk-ant-test-SECRET",
  "x-stainless-arch": "x64",
  "x-stainless-lang": "python",
  "x-stainless-os": "Linux",
  "x-stainless-package-version": "0.40.0",
  "x-stainless-retry-count": "0",
  "x-stainless-runtime": "CPython",
  "x-stainless-runtime-version": "3.12.4",
};

export const CURL_HEADERS: Record<string, string> = {
  accept: "*/*",
  "anthropic-version": "2023-06-01",
  "content-type": "application/json",
  "user-agent": "curl/8.5.0",
  "x-api-key": "sk-ant-test-SECRET",
};

export const CHROME_HEADERS: Record<string, string> = {
  accept: "*/*",
  "accept-encoding": "gzip, deflate, br, zstd",
  "accept-language": "en-US,en;q=0.9",
  "content-type": "application/json",
  "sec-ch-ua": '"Chromium";v="131", "Not_A Brand";v="24"',
  "sec-fetch-dest": "empty",
  "sec-fetch-mode": "cors",
  "sec-fetch-site": "cross-site",
  "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
};

/** A cf object as the edge fills it for a TLS 1.3, HTTP/1.1 client on AWS. */
export const AWS_NODE_CF: Record<string, unknown> = {
  asn: 16509,
  asOrganization: "Amazon.com, Inc.",
  country: "US",
  colo: "IAD",
  region: "Virginia",
  city: "Ashburn",
  latitude: "39.04",
  longitude: "-77.49",
  clientTcpRtt: 3,
  httpProtocol: "HTTP/1.1",
  tlsVersion: "TLSv1.3",
  tlsCipher: "AEAD-AES256-GCM-SHA384",
  tlsClientCiphersSha1: "kXYYv6Kh1I3ht0iM+uLo0W7ME4o=",
  tlsClientExtensionsSha1: "OWFiM2I5ZDc0YWI0YWYzZmFkMGU0ZjhlYjhiYmVkMjgxNTU5YTU2Mg==",
  tlsClientExtensionsSha1Le: "7zIpdDU5pvFPPBI2/PCzqbaXnRA=",
  tlsClientHelloLength: "517",
};

export function policyWith(fingerprint: NonNullable<PolicyInput["fingerprint"]>, clusters?: PolicyInput["clusters"]): Policy {
  return policySchema.parse({ fingerprint, ...(clusters === undefined ? {} : { clusters }) });
}

export function messagesBody(system: unknown, user: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: "claude-sonnet-4-5",
    max_tokens: 1024,
    ...(system === undefined ? {} : { system }),
    messages: [{ role: "user", content: user }],
    ...extra,
  };
}

export function input(overrides: Partial<FingerprintInput> = {}): FingerprintInput {
  return {
    cf: AWS_NODE_CF,
    headers: new Headers(NODE_SDK_HEADERS),
    ip: "203.0.113.7",
    body: messagesBody("You are a helpful assistant.", "Summarise the attached meeting notes in five bullet points."),
    policy: DEFAULT_POLICY,
    ...overrides,
  };
}

/** Realistic prompts on unrelated topics, each long enough to be a template. */
export const DISTINCT_PROMPTS: readonly string[] = [
  "You are a senior Rust engineer. Review the following function for memory safety issues, unnecessary clones and missing error handling, then suggest an idiomatic rewrite.",
  "Write a warm, two-paragraph birthday message for my grandmother who is turning ninety and loves gardening, baking bread and long walks by the lake.",
  "Explain the difference between a Roth IRA and a traditional IRA for someone in their twenties who just started their first full-time job in Ohio.",
  "Translate this customer complaint from German into plain English and then draft a polite reply that offers a replacement part and apologises for the delay.",
  "I am planning a four day trip to Kyoto in late November. Suggest an itinerary that balances temples, food markets and quiet walks, avoiding the busiest tourist hours.",
  "Given the SQL schema below with tables for orders, customers and shipments, write a query that returns the ten customers with the highest late-delivery rate last quarter.",
  "Summarise the main arguments of this research paper on coral reef bleaching, focusing on the proposed mechanisms and the limitations the authors acknowledge.",
  "My sourdough starter smells like nail polish remover and is not rising anymore. What is going wrong and how can I revive it over the next week?",
  "Draft a job description for a part-time bookkeeper at a small veterinary clinic, including responsibilities, required software skills and the expected weekly hours.",
  "Create a lesson plan for teaching fractions to a class of nine year olds using pizza slices, with a warm-up activity, group exercise and a short quiz at the end.",
  "Compare PostgreSQL logical replication with streaming replication for a team migrating a forty terabyte database between cloud providers with minimal downtime.",
  "Help me write a cover letter for a museum curator position. I have a master's degree in art history and five years of experience organising travelling exhibitions.",
  "What are the pros and cons of heat pumps versus gas furnaces for a drafty two-storey house in Minnesota, considering installation cost and winter performance?",
  "Rewrite this paragraph from my fantasy novel so the dialogue between the blacksmith and the young thief feels tenser and reveals more about their shared past.",
  "Design a REST API for a library management system with endpoints for books, members, loans and reservations, including pagination and error responses.",
  "Outline a twelve week training plan for a first half marathon for someone who currently runs three kilometres twice a week and has a history of knee pain.",
];
