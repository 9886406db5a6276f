/**
 * TLS and HTTP-stack features from the free `request.cf` fields, plus Bot
 * Management's JA4/JA3 when the zone has it.
 *
 * What the edge gives us is a summary, not the ClientHello: SHA-1s of the
 * cipher and extension lists, the hello's length, the negotiated version,
 * cipher and HTTP protocol. Those identify a TLS stack build well enough to
 * group clients, but not to name it without a table of observed values.
 *
 * Known instabilities (they split one client over a few keys, which only loses
 * evidence; they never merge different stacks):
 * - browsers (Chrome 110+, Firefox) shuffle extension order per connection, so
 *   `tlsClientExtensionsSha1` varies for them;
 * - a resumed session adds pre_shared_key/early_data, changing the extension
 *   hash, the JA4 extension count and the hello length.
 */
import { asciiToken, field, isRecord, readCount, readString } from "./fields.ts";
import { hashFields } from "../fasthash.ts";

export type TlsFeatures = {
  tlsVersion: string | null;
  tlsCipher: string | null;
  ciphersSha1: string | null;
  extensionsSha1: string | null;
  extensionsSha1Le: string | null;
  helloLength: number | null;
  /** helloLength rounded down to HELLO_BUCKET_BYTES. */
  helloLengthBucket: number | null;
  httpProtocol: string | null;
  ja4: string | null;
  ja3Hash: string | null;
  /** Parsed from JA4 when present. */
  ja4Parts: Ja4Parts | null;
};

export type Ja4Parts = {
  transport: "tcp" | "quic" | "dtls";
  version: string;
  sni: boolean;
  cipherCount: number;
  extensionCount: number;
  /** First and last character of the first ALPN value: "h2", "h1", "h3", "00" (none). */
  alpn: string;
};

// 64 bytes: coarse enough that SNI length or a GREASE value does not move a
// client, fine enough to separate a padded browser hello from a bare library one.
export const HELLO_BUCKET_BYTES = 64;

const JA4_PATTERN = /^([tqd])(\d\d|s\d|d\d)([di])(\d\d)(\d\d)([0-9a-z]{2})_[0-9a-f]{12}_[0-9a-f]{12}$/;

export function parseJa4(ja4: string | null): Ja4Parts | null {
  if (ja4 === null) return null;
  const match = JA4_PATTERN.exec(ja4);
  if (match === null) return null;
  const [, transport = "t", version = "00", sni = "i", ciphers = "0", extensions = "0", alpn = "00"] = match;
  return {
    transport: transport === "q" ? "quic" : transport === "d" ? "dtls" : "tcp",
    version,
    sni: sni === "d",
    cipherCount: Number(ciphers),
    extensionCount: Number(extensions),
    alpn,
  };
}

export function tlsFeatures(cf: Record<string, unknown> | undefined): TlsFeatures {
  const record = isRecord(cf) ? cf : undefined;
  const bot = field(record, "botManagement");
  const botRecord = isRecord(bot) ? bot : undefined;
  const helloLength = readCount(record, "tlsClientHelloLength");
  const ja4Raw = readString(botRecord, "ja4", 64);
  const ja4 = ja4Raw === null ? null : ja4Raw.toLowerCase();
  return {
    tlsVersion: asciiToken(readString(record, "tlsVersion", 16)),
    tlsCipher: asciiToken(readString(record, "tlsCipher", 64)),
    ciphersSha1: asciiToken(readString(record, "tlsClientCiphersSha1", 64)),
    extensionsSha1: asciiToken(readString(record, "tlsClientExtensionsSha1", 64)),
    extensionsSha1Le: asciiToken(readString(record, "tlsClientExtensionsSha1Le", 64)),
    helloLength,
    helloLengthBucket: helloLength === null ? null : helloLength - (helloLength % HELLO_BUCKET_BYTES),
    httpProtocol: asciiToken(readString(record, "httpProtocol", 16)),
    ja4: asciiToken(ja4),
    ja3Hash: asciiToken(readString(botRecord, "ja3Hash", 64)),
    ja4Parts: parseJa4(ja4),
  };
}

/**
 * 16 hex characters, or null when the edge reported no TLS at all (plain HTTP,
 * local dev): one giant "unknown" key would lump every such client together.
 *
 * The hello length is left out on purpose: session resumption moves it by
 * hundreds of bytes, and ciphers + extensions already carry the stack identity.
 * `extensionsSha1Le` is the same list as `extensionsSha1`, so it adds nothing.
 */
export function tlsKeyHash(t: TlsFeatures): string | null {
  if (t.tlsVersion === null && t.ciphersSha1 === null && t.extensionsSha1 === null && t.ja4 === null && t.ja3Hash === null) {
    return null;
  }
  return hashFields([t.tlsVersion, t.tlsCipher, t.ciphersSha1, t.extensionsSha1, t.httpProtocol, t.ja4, t.ja3Hash]);
}
