import { describe, expect, it } from "vitest";
import { createAccount, messageBody, ORIGIN, postMessage } from "../helpers.ts";

async function readAll(res: Response): Promise<string> {
  return new TextDecoder().decode(await res.arrayBuffer());
}

describe("streamed answers", () => {
  it("should pass SSE through byte-exact and in order", async () => {
    const account = await createAccount();
    const body = messageBody({ stream: true });
    const headers = { "x-demo-events": "12" };
    const viaGateway = await postMessage(account.key, body, { headers });
    expect(viaGateway.status).toBe(200);
    expect(viaGateway.headers.get("content-type")).toContain("text/event-stream");
    const gatewayText = await readAll(viaGateway);

    const direct = await fetch(`${ORIGIN}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    const directText = await readAll(direct);
    // Message ids differ per answer; everything else must be identical.
    const strip = (s: string) => s.replace(/msg_demo_[0-9a-f]+/g, "msg_demo_X");
    expect(strip(gatewayText)).toBe(strip(directText));
    const events = [...gatewayText.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(events[0]).toBe("message_start");
    expect(events.at(-2)).toBe("message_delta");
    expect(events.at(-1)).toBe("message_stop");
    expect(events.filter((e) => e === "content_block_delta")).toHaveLength(12);
  });

  it("should deliver the first event before the origin has finished", async () => {
    const account = await createAccount();
    // 40 events 25 ms apart: the whole answer takes ≥ 1 s at the origin.
    const res = await postMessage(account.key, messageBody({ stream: true, max_tokens: 1000 }), {
      headers: { "x-demo-events": "40", "x-demo-delay-ms": "25" },
    });
    const reader = res.body!.getReader();
    const first = await reader.read();
    const firstText = new TextDecoder().decode(first.value);
    expect(firstText).toContain("message_start");
    // Unbuffered: the end of the stream is not in the first chunk.
    expect(firstText).not.toContain("message_stop");
    await reader.cancel();
  });
});
