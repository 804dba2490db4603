/**
 * Validation of a `/v1/compress` body. The rules are the service's: `messages` (an array of objects
 * with a string `role`) and `model` (a non-empty string) are required; the optional fields must have
 * their documented types (null counts as absent). Unknown fields are allowed, as the service allows them.
 */
import type { CompressRequest } from '../contract';
import { isObject } from '../decision';
import { invalidRequest } from './errors';

function isNonNegativeInteger(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** Returns the body typed as a request, unchanged; throws CompressorError(400) naming the first problem. */
export function validateCompressRequest(body: unknown): CompressRequest {
  if (!isObject(body)) throw invalidRequest('request body must be a JSON object');
  const { messages, model, token_budget: tokenBudget, config } = body;
  if (messages === undefined) throw invalidRequest('missing field: messages');
  if (!Array.isArray(messages)) throw invalidRequest('messages must be an array');
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i];
    if (!isObject(message)) throw invalidRequest(`messages[${i}] must be an object`);
    if (typeof message.role !== 'string') throw invalidRequest(`messages[${i}].role must be a string`);
  }
  if (model === undefined) throw invalidRequest('missing field: model');
  if (typeof model !== 'string' || model.trim().length === 0) throw invalidRequest('model must be a non-empty string');
  if (tokenBudget !== undefined && tokenBudget !== null && !isNonNegativeInteger(tokenBudget)) {
    throw invalidRequest('token_budget must be a non-negative integer');
  }
  if (config !== undefined && config !== null) {
    if (!isObject(config)) throw invalidRequest('config must be an object');
    const { compress_user_messages: compressUser, target_ratio: targetRatio, protect_recent: protectRecent } = config;
    if (compressUser != null && typeof compressUser !== 'boolean') {
      throw invalidRequest('config.compress_user_messages must be a boolean');
    }
    if (targetRatio != null && (typeof targetRatio !== 'number' || !Number.isFinite(targetRatio) || targetRatio <= 0)) {
      throw invalidRequest('config.target_ratio must be a positive number');
    }
    if (protectRecent != null && !isNonNegativeInteger(protectRecent)) {
      throw invalidRequest('config.protect_recent must be a non-negative integer');
    }
    if (config.protect_analysis_context != null && typeof config.protect_analysis_context !== 'boolean') {
      throw invalidRequest('config.protect_analysis_context must be a boolean');
    }
  }
  return body as unknown as CompressRequest;
}
