/** File listing shared by the benches' build steps (no heavy imports: the bench children load it too). */
import fs from 'node:fs';
import path from 'node:path';

/** The .ts sources under `dir` (not .d.ts). lib/ is two levels deep; the bound keeps a symlink loop from running away. */
export function tsFilesUnder(dir: string, depth = 0): string[] {
  if (depth > 8) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFilesUnder(p, depth + 1));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}
