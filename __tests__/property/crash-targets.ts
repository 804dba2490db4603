/** The chains, Express majors and opt-in modes crash-child.ts serves (shared with its test, which must not load the child). */
export const CHAINS = ['plain', 'json', 'json-fix'] as const;
export const MAJORS = [5, 4] as const;
export const MODES = ['optin', 'on'] as const;
export type Chain = (typeof CHAINS)[number];
export type Mode = (typeof MODES)[number];

/** An original every child app's retrieval store holds from the start (rows with ids and words to query), and its content hash is its retrieval hash. */
export const SEEDED_ORIGINAL = JSON.stringify({
  orders: Array.from({ length: 300 }, (_, i) => ({
    id: `ord_${i}`,
    status: ['paid', 'refunded', 'pending'][i % 3],
    amount: `${(i * 7) % 500}.00 EUR`,
    note: i % 17 === 0 ? 'ERR_CARD_DECLINED "quoted"' : 'ok',
  })),
});
