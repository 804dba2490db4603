/**
 * Validation of a `/v1/compress` body against the contract's schema (`lib/contract.ts`, the one
 * definition of it), with the service's own wording for the first problem found.
 */
import type { CompressRequest } from '../contract';
import { compressRequestSchema, describeContractIssue } from '../contract-schema';
import { invalidRequest } from './errors';

/** Returns the body typed as a request, unchanged; throws CompressorError(400) naming the first problem. */
export function validateCompressRequest(body: unknown): CompressRequest {
  const parsed = compressRequestSchema.safeParse(body);
  if (!parsed.success) throw invalidRequest(describeContractIssue(parsed.error.issues[0]));
  return body as CompressRequest;
}
