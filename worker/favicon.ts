/**
 * `GET /favicon.ico`: browsers ask for it on every origin they open (the console, an error page), and a
 * 404 there is noise in every log. An SVG served under the .ico name: every current browser reads an
 * icon by its content type, not its file name, and 300 bytes of SVG need no binary in the repo.
 */
import type { Context } from "hono";
import type { AppEnv } from "./context.ts";

// A shield with a gate bar: the gateway's mark, in the console's accent colour.
const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path d="M16 2 4 6.5v8.8C4 23 9.2 28.3 16 30c6.8-1.7 12-7 12-14.7V6.5z" fill="#2f5fb3"/><path d="M10 15h12v3H10z" fill="#fff"/></svg>`;

export function favicon(c: Context<AppEnv>) {
  return c.body(ICON, 200, {
    "content-type": "image/svg+xml",
    // A day in any cache: the icon changes with a deploy, never with state.
    "cache-control": "public, max-age=86400",
    "x-content-type-options": "nosniff",
  });
}
