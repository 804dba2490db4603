/** Loaders for the shared fixtures and the generated compressor fixtures (not a test file). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContractMessage } from '../../lib/contract';

const root = join(__dirname, '..', 'fixtures');

export interface RecordedRequest {
  path: string;
  headers: Record<string, string>;
  body: { model: string; messages: ContractMessage[]; [key: string]: unknown };
}

export function recorded(path: string): RecordedRequest {
  return JSON.parse(readFileSync(join(root, path), 'utf8')) as RecordedRequest;
}

export function generated(name: string): string {
  return readFileSync(join(root, 'compressor', name), 'utf8');
}

/** The tool outputs of the shared fixtures, by what they are. */
export function sharedToolOutputs(): { ordersJson: string; workerLog: string; lsListing: string; ticketsJson: string; grepListing: string } {
  const turn4 = recorded('claude-code-session/turn-4.json').body.messages as any[];
  const agent = recorded('openai-agent/request.json').body.messages as any[];
  return {
    ordersJson: turn4[3].content[0].content,
    workerLog: turn4[5].content[0].content,
    lsListing: turn4[7].content[0].content,
    ticketsJson: agent[3].content,
    grepListing: agent[5].content,
  };
}
