/**
 * The published contract, tested from the packed tarball as a user installs it (issue 14), the way
 * express-rate-limit's external tests do: `npm pack`, install the tarball into fresh apps (one with
 * Express 5 and its types, one with Express 4 and its types), then
 *   - run: ESM default and named imports, CommonJS `require` and `.default`, the compressor subpath;
 *   - compile: TypeScript `--strict`, no `skipLibCheck`, no `esModuleInterop`, under moduleResolution
 *     node10 (CommonJS), node16 and bundler;
 *   - and check that importing the middleware loads neither the compressor nor a tokenizer.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { startUpstream } from '../kit/upstream';
import { openaiAgent } from '../kit/fixtures';
import { rawRequest } from '../kit/raw-request';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const apps: Record<'express5' | 'express4', string> = { express5: '', express4: '' };
let tarball = '';

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'express-headroom-pack-'));
  // `npm test` builds dist first (pretest). Packing without scripts does not rebuild it, so suites that run
  // dist/ at the same time (process.test.ts) never see it deleted mid-run.
  if (!existsSync(join(root, 'dist/cjs/index.js'))) execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'pipe' });
  const out = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  tarball = join(dir, out.trim().split('\n').pop()!);
  const install = async (name: keyof typeof apps, express: string[]) => {
    const app = join(dir, name);
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `pack-${name}`, version: '1.0.0', private: true }));
    // No --ignore-scripts: the package must install without asking to run anything of its own.
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...express, '@types/node@20'], { cwd: app });
    apps[name] = app;
  };
  await Promise.all([install('express5', ['express@5', '@types/express@5', 'http-proxy-middleware@3']), install('express4', ['express@4', '@types/express@4'])]);
}, 240_000);

afterAll(() => rmSync(join(apps.express5, '..'), { recursive: true, force: true }));

/** A port free a moment ago (the snippet must listen on a number, as pasted). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const node = (app: string, args: string[]) => execFileSync(process.execPath, args, { cwd: app, encoding: 'utf8', env: { ...process.env, HEADROOM_API_BASE: '' } }).trim();

test('the tarball holds dist (cjs, esm, d.ts, maps with their sources), no sources, no tests, no install scripts', () => {
  const pkgDir = join(apps.express5, 'node_modules', 'express-headroom');
  for (const f of ['dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.mjs', 'dist/esm/index.d.mts', 'dist/esm/compressor.mjs', 'dist/cjs/compressor/index.js']) {
    expect(existsSync(join(pkgDir, f))).toBe(true);
  }
  expect(readdirSync(pkgDir)).not.toContain('lib');
  expect(readdirSync(pkgDir)).not.toContain('__tests__');
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts?.[hook]).toBeUndefined();
  // Source maps resolve: the TypeScript they point at travels inside them.
  const map = JSON.parse(readFileSync(join(pkgDir, 'dist/cjs/middleware.js.map'), 'utf8'));
  expect(map.sourcesContent?.[0]).toContain('export function createMiddleware');
});

test('peer dependencies and engines are true', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  expect(pkg.peerDependencies.express).toMatch(/\^4.*\^5/);
  // undici 7 needs Node >= 20.18.1.
  const undici = JSON.parse(readFileSync(join(root, 'node_modules/undici/package.json'), 'utf8'));
  expect(pkg.engines.node).toBe(undici.engines.node);
});

test.each(['express5', 'express4'] as const)('%s: CommonJS require, .default, and the compressor subpath run', (name) => {
  const out = node(apps[name], [
    '-e',
    "const m = require('express-headroom'); const mw = m.headroomCompression('http://127.0.0.1:9'); const c = require('express-headroom/compressor'); console.log(typeof mw, m.default === m.headroomCompression, typeof m.HeadroomConfigError, typeof c.compress); mw.close();",
  ]);
  expect(out).toBe('function true function function');
});

test.each(['express5', 'express4'] as const)('%s: ESM default and named imports are the same implementation as require', (name) => {
  writeFileSync(
    join(apps[name], 'check.mjs'),
    [
      "import headroomCompression, { headroomCompression as named, HeadroomConfigError } from 'express-headroom';",
      "import { compress } from 'express-headroom/compressor';",
      "import { createRequire } from 'node:module';",
      "const cjs = createRequire(import.meta.url)('express-headroom');",
      "let msg = ''; try { headroomCompression({}); } catch (e) { msg = e instanceof HeadroomConfigError ? 'config-error' : 'other'; }",
      'console.log(typeof headroomCompression, headroomCompression === named, named === cjs.headroomCompression, typeof compress, msg);',
    ].join('\n'),
  );
  expect(node(apps[name], ['check.mjs'])).toBe('function true true function config-error');
});

test('importing the middleware loads neither the compressor nor a tokenizer', () => {
  const out = node(apps.express5, [
    '-e',
    "require('express-headroom'); const loaded = Object.keys(require.cache); console.log(loaded.some((k) => k.includes('gpt-tokenizer')), loaded.some((k) => k.includes('/dist/cjs/compressor/')), loaded.some((k) => k.includes('undici')));",
  ]);
  expect(out).toBe('false false false');
});

const USE = [
  "const options: HeadroomOptions = { apiBase: 'http://x', defaultOn: true, onResult: (r: HeadroomResult) => void r.tokensSaved };",
  'export const mw = headroomCompression(options);',
  'export const viaDefault = headroomDefault(options);',
  'export const inProcess = named({ compressor: compress, defaultOn: true });',
  'const app = express();',
  "app.use('/v1', mw);",
  "app.use(express.json({ limit: '64mb', verify: mw.verifyJson }));",
].join('\n');

test.each(['express5', 'express4'] as const)(
  '%s types: --strict, no skipLibCheck, no esModuleInterop; node10, node16 and bundler',
  async (name) => {
    const app = apps[name];
    writeFileSync(
      join(app, 'check-cjs.ts'),
      `import express = require('express');\nimport { headroomCompression, headroomCompression as named, type HeadroomOptions, type HeadroomResult } from 'express-headroom';\nimport headroomDefault from 'express-headroom';\nimport { compress } from 'express-headroom/compressor';\n${USE}\n`,
    );
    writeFileSync(
      join(app, 'check-esm.mts'),
      `import express from 'express';\nimport headroomDefault, { headroomCompression, headroomCompression as named, type HeadroomOptions, type HeadroomResult } from 'express-headroom';\nimport { compress } from 'express-headroom/compressor';\n${USE}\n`,
    );
    writeFileSync(
      join(app, 'check-bundler.ts'),
      `import express from 'express';\nimport headroomDefault, { headroomCompression, headroomCompression as named, type HeadroomOptions, type HeadroomResult } from 'express-headroom';\nimport { compress } from 'express-headroom/compressor';\n${USE}\n`,
    );
    const common = ['--noEmit', '--strict', '--types', 'node', '--typeRoots', join(app, 'node_modules/@types')];
    const runs: Array<[string, string[]]> = [
      ['node10', [...common, '--module', 'commonjs', '--moduleResolution', 'node10', 'check-cjs.ts']],
      ['node16', [...common, '--module', 'node16', '--moduleResolution', 'node16', 'check-esm.mts']],
      // bundler resolution reads `import` conditions; esModuleInterop-free default import of express needs allowSyntheticDefaultImports, as bundlers assume.
      ['bundler', [...common, '--module', 'esnext', '--moduleResolution', 'bundler', '--allowSyntheticDefaultImports', 'check-bundler.ts']],
    ];
    const results = await Promise.allSettled(runs.map(([, a]) => run(process.execPath, [tsc, ...a], { cwd: app })));
    const failures = results.map((r, i) => (r.status === 'rejected' ? `${runs[i][0]}: ${(r.reason as { stdout?: string }).stdout}` : '')).filter(Boolean);
    expect(failures).toEqual([]);
  },
  120_000,
);

test('the CLI bin runs from the installed package', () => {
  const out = execFileSync(join(apps.express5, 'node_modules/.bin/express-headroom-compressor'), ['--help'], { cwd: apps.express5, encoding: 'utf8' });
  expect(out).toMatch(/^usage: express-headroom-compressor/m);
});

test('the public surface matches the committed API report (api/express-headroom.api.md)', () => {
  // Fails when an export is added, removed or changes shape: run `npm run api:report` and commit it if intended.
  const result = execFileSync(process.execPath, [join(root, 'scripts/api-report.mjs'), '--check'], { cwd: root, encoding: 'utf8' });
  expect(result.trim()).toBe('API report matches.');
});

test("the README's quick start runs as pasted and compresses", async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const snippet = /```js\n([\s\S]*?)```/.exec(readme)![1];
  const upstream = await startUpstream();
  // The one substitution: the provider's URL becomes a loopback stand-in (this machine has no internet),
  // and the port a free one.
  expect(snippet).toContain("'https://api.anthropic.com/v1'");
  expect(snippet).toContain('app.listen(4000');
  const port = await freePort();
  writeFileSync(join(apps.express5, 'gateway.mjs'), snippet.replace("'https://api.anthropic.com/v1'", `'${upstream.url}/v1'`).replace('app.listen(4000', `app.listen(${port}`));
  const child = spawn(process.execPath, ['gateway.mjs'], { cwd: apps.express5, stdio: 'ignore' });
  try {
    const body = Buffer.from(JSON.stringify(openaiAgent().body));
    let res;
    for (let i = 0; i < 100 && !res; i++) {
      res = await rawRequest(`http://127.0.0.1:${port}`, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body }).catch(() => undefined);
      if (!res) await new Promise((r) => setTimeout(r, 100));
    }
    expect(res!.status).toBe(200);
    expect(res!.headers['x-litellm-applied-guardrails']).toBe('headroom-compression');
    expect(upstream.requests[0].raw.length).toBeLessThan(body.length);
  } finally {
    child.kill();
    await upstream.close();
  }
}, 60_000);
