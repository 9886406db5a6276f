// Secrets are not in wrangler.toml, so `wrangler types` cannot see them.
interface Env {
  /** Operator token for /admin/*: `wrangler secret put ADMIN_TOKEN`; locally from .dev.vars. */
  ADMIN_TOKEN?: string;
}
