/**
 * What installing and importing the package costs a user (issue 14): `npm pack`, install the tarball
 * into a scratch app (with express, as users have it), then
 *   - install size: bytes on disk of node_modules minus express's own tree, and of the package itself;
 *   - import time: median wall time of `node -e "require(entry)"` minus `node -e ""`, over N runs,
 *     for the main entry and for the compressor subpath (when the package has one);
 *   - whether importing the main entry loads gpt-tokenizer (require.cache after the import).
 *
 *   npx ts-node --transpile-only bench/package-cost.ts [--runs 15] [--out bench/results/package-cost-latest.md]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : args[i + 1];
};
const runs = Number(opt('runs', '15'));
const out = opt('out', '');

function du(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += du(p);
    else if (entry.isFile()) total += statSync(p).size;
  }
  return total;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeNode(cwd: string, code: string): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['-e', code], { cwd, stdio: 'pipe' });
    if (r.status !== 0) throw new Error(`node -e failed: ${r.stderr}`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

const app = mkdtempSync(join(tmpdir(), 'headroom-cost-'));
try {
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', app], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
  const tarball = join(app, packed);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'cost', version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', 'express@5'], { cwd: app, stdio: 'pipe' });
  const withExpress = du(join(app, 'node_modules'));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: app, stdio: 'pipe' });
  const all = du(join(app, 'node_modules'));
  const own = du(join(app, 'node_modules', 'express-headroom'));
  const tokenizer = existsSync(join(app, 'node_modules', 'gpt-tokenizer')) ? du(join(app, 'node_modules', 'gpt-tokenizer')) : 0;
  const base = timeNode(app, '');
  const main = timeNode(app, "require('express-headroom')") - base;
  const loadsTokenizer = spawnSync(process.execPath, ['-e', "require('express-headroom'); console.log(Object.keys(require.cache).some((k) => k.includes('gpt-tokenizer')))"], {
    cwd: app,
    encoding: 'utf8',
  }).stdout.trim();
  const hasSubpath = spawnSync(process.execPath, ['-e', "require('express-headroom/compressor')"], { cwd: app }).status === 0;
  const compressor = hasSubpath ? timeNode(app, "require('express-headroom/compressor')") - base : NaN;
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  const report = [
    `| commit | tarball | installed with its dependencies (beyond express 5) | the package itself | gpt-tokenizer | import main entry (median of ${runs}) | main entry loads gpt-tokenizer | import \`express-headroom/compressor\` |`,
    '|---|---|---|---|---|---|---|---|',
    `| ${commit} | ${(statSync(tarball).size / 1024).toFixed(0)} KB | ${mb(all - withExpress)} | ${mb(own)} | ${tokenizer ? mb(tokenizer) : 'not installed'} | ${main.toFixed(0)} ms | ${loadsTokenizer} | ${hasSubpath ? `${compressor.toFixed(0)} ms` : 'no subpath'} |`,
    '',
    `Command: \`npx ts-node --transpile-only bench/package-cost.ts --runs ${runs}\`; ${cpus()[0].model} ×${cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  ].join('\n');
  console.log(report);
  if (out) writeFileSync(join(root, out), `${report}\n`);
} finally {
  rmSync(app, { recursive: true, force: true });
}
