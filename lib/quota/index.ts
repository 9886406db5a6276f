/** Per-account quota maths: sliding windows, risk decay, adaptive limits, action choice. No bindings. */
export * from "./window.ts";
export * from "./risk.ts";
export * from "./adaptive.ts";
export * from "./action.ts";
export * from "./admission.ts";
export * from "./allowance.ts";
