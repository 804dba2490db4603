/** The chains, Express majors and opt-in modes crash-child.ts serves (shared with its test, which must not load the child). */
export const CHAINS = ['plain', 'json', 'json-fix'] as const;
export const MAJORS = [5, 4] as const;
export const MODES = ['optin', 'on'] as const;
export type Chain = (typeof CHAINS)[number];
export type Mode = (typeof MODES)[number];
