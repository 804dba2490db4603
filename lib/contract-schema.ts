/**
 * The Headroom `/v1/compress` contract (headroom-ai 0.28), defined once, as zod schemas. The published
 * types (`contract.ts`) are a zod-free copy, checked at compile time to equal what these schemas infer:
 * published declarations that import zod would make users compile zod's own types, which need
 * `esModuleInterop` under node10 resolution. The middleware's service client checks every reply against
 * `compressResponseSchema`; the embedded compressor checks every request against
 * `compressRequestSchema`. Unknown fields pass, as the service lets them.
 *
 * Error messages are the tails of the service's own ("must be a string"); `describeContractIssue`
 * puts the field's path in front ("messages[0].role must be a string").
 */
import { z } from 'zod';
import type { CompressConfig, CompressRequest, CompressResponse, ContractMessage, ServiceReply } from './contract';

const missingOr = (message: string) => (iss: { input: unknown }) => (iss.input === undefined ? 'missing field' : message);
const nonNegativeInt = (message: string) => z.int({ error: message }).nonnegative({ error: message });

/** A chat message as sent to `/v1/compress`: OpenAI shape, the service's lingua franca. */
const contractMessageSchema = z.looseObject({ role: z.string({ error: 'must be a string' }), content: z.unknown().optional() }, { error: 'must be an object' });

const compressConfigSchema = z.looseObject(
  {
    /** Compress user rows too (default false). */
    compress_user_messages: z.boolean({ error: 'must be a boolean' }).nullish(),
    /** Wanted after/before ratio, best effort. */
    target_ratio: z.number({ error: 'must be a positive number' }).positive({ error: 'must be a positive number' }).nullish(),
    /** The newest N rows are left alone. A caller that sends only what it wants compressed sends 0. */
    protect_recent: nonNegativeInt('must be a non-negative integer').nullish(),
    protect_analysis_context: z.boolean({ error: 'must be a boolean' }).nullish(),
  },
  { error: 'must be an object' },
);

export const compressRequestSchema = z.looseObject(
  {
    messages: z.array(contractMessageSchema, { error: missingOr('must be an array') }),
    model: z.string({ error: missingOr('must be a non-empty string') }).refine((m) => m.trim().length > 0, { error: 'must be a non-empty string' }),
    token_budget: nonNegativeInt('must be a non-negative integer').nullish(),
    config: compressConfigSchema.nullish(),
  },
  { error: 'must be a JSON object' },
);

const count = z.number().nonnegative();

/** The contract's response: what the service (and any in-process compressor) answers. */
const compressResponseSchema = z.looseObject({
  /** The compressed messages, same count and order as sent. */
  messages: z.array(contractMessageSchema),
  tokens_before: count,
  tokens_after: count,
  tokens_saved: z.number(),
  /** after / before; 1.0 when before is 0. Lower is more compression. */
  compression_ratio: count,
  transforms_applied: z.array(z.string()),
  transforms_summary: z.record(z.string(), z.number()).optional(),
  ccr_hashes: z.array(z.string()).optional(),
});

/**
 * What the middleware accepts from a service: the response, with the tolerances real services need.
 * `messages` rows are checked one by one by the codec (a row it cannot use is refused alone, not the
 * whole reply), and the figures older versions omit are optional (they are derived).
 */
export const serviceReplySchema = compressResponseSchema.extend({
  messages: z.array(z.unknown()),
  tokens_before: count.optional(),
  tokens_after: count.optional(),
  tokens_saved: z.number().optional(),
  compression_ratio: count.optional(),
  transforms_applied: z.array(z.string()).optional(),
});

/** Compile-time proof that the published types are exactly what the schemas accept. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const contractTypesMatchSchemas: [
  Same<ContractMessage, z.infer<typeof contractMessageSchema>>,
  Same<CompressConfig, z.infer<typeof compressConfigSchema>>,
  Same<CompressRequest, z.infer<typeof compressRequestSchema>>,
  Same<CompressResponse, z.infer<typeof compressResponseSchema>>,
  Same<ServiceReply, z.infer<typeof serviceReplySchema>>,
] = [true, true, true, true, true];
void contractTypesMatchSchemas;

/** A contract issue as the service words it: "missing field: model", "messages[0].role must be a string". */
export function describeContractIssue(issue: { path: PropertyKey[]; message: string }): string {
  const path = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
  if (path === '') return `request body ${issue.message}`;
  return issue.message === 'missing field' ? `missing field: ${path}` : `${path} ${issue.message}`;
}
