/** Accounts `npm start` seeds, with well-known demo keys (local only). */
export const DEMO_ACCOUNTS = [
  { id: "demo-free", keys: ["sk-demo-free-0001"], tier: "free", verified: false, billingCountry: "US" },
  { id: "demo-build", keys: ["sk-demo-build-0001"], tier: "build", verified: true, billingCountry: "GB", orgType: "startup" },
  { id: "demo-scale", keys: ["sk-demo-scale-0001"], tier: "scale", verified: true, billingCountry: "DE", orgType: "enterprise" },
];
