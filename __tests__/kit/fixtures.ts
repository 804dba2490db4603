import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CapturedRequest {
  path: string;
  headers: Record<string, string>;
  body: any;
}

const dir = join(__dirname, '..', 'fixtures');

export function loadFixture(name: string): CapturedRequest {
  return JSON.parse(readFileSync(join(dir, name), 'utf8'));
}

export const claudeTurns = (): CapturedRequest[] => [1, 2, 3, 4].map((n) => loadFixture(`claude-code-session/turn-${n}.json`));
export const openaiAgent = (): CapturedRequest => loadFixture('openai-agent/request.json');

export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));
