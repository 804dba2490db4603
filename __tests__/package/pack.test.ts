/**
 * The published shape: `npm pack`, install the tarball in a fresh app, and both `import` (ESM) and
 * `require` (CommonJS) resolve, with types, and the bin starts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
let app: string;

beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), 'express-headroom-pack-'));
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', app], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const tarball = out.trim().split('\n').pop()!;
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-check', version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(app, tarball), 'express@5', '@types/express@5', '@types/node@20'], { cwd: app, stdio: 'pipe' });
}, 240_000);

afterAll(() => rmSync(app, { recursive: true, force: true }));

test('the tarball holds dist (cjs, esm, d.ts) and no sources or tests', () => {
  const pkgDir = join(app, 'node_modules', 'express-headroom');
  expect(existsSync(join(pkgDir, 'dist/cjs/index.js'))).toBe(true);
  expect(existsSync(join(pkgDir, 'dist/cjs/index.d.ts'))).toBe(true);
  expect(existsSync(join(pkgDir, 'dist/esm/index.mjs'))).toBe(true);
  expect(existsSync(join(pkgDir, 'dist/esm/index.d.mts'))).toBe(true);
  expect(readdirSync(pkgDir)).not.toContain('lib');
  expect(readdirSync(pkgDir)).not.toContain('__tests__');
});

test('require (CommonJS) works and creates a middleware', () => {
  const out = execFileSync(
    process.execPath,
    ['-e', "const { headroomCompression, HeadroomConfigError } = require('express-headroom'); const mw = headroomCompression('http://127.0.0.1:9'); console.log(typeof mw, typeof HeadroomConfigError, typeof require('express-headroom').default); mw.close();"],
    { cwd: app, encoding: 'utf8' },
  );
  expect(out.trim()).toBe('function function function');
});

test('import (ESM) works and is the same implementation', () => {
  writeFileSync(
    join(app, 'check.mjs'),
    "import { headroomCompression, HeadroomConfigError } from 'express-headroom';\nimport { createRequire } from 'node:module';\nconst cjs = createRequire(import.meta.url)('express-headroom');\nlet msg = '';\ntry { headroomCompression({}); } catch (e) { msg = e instanceof HeadroomConfigError ? 'config-error' : 'other'; }\nconsole.log(typeof headroomCompression, headroomCompression === cjs.headroomCompression, msg);\n",
  );
  const out = execFileSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8', env: { ...process.env, HEADROOM_API_BASE: '' } });
  expect(out.trim()).toBe('function true config-error');
});

test('types resolve for both entry points', () => {
  writeFileSync(
    join(app, 'check.ts'),
    "import { headroomCompression, type HeadroomOptions, type HeadroomResult } from 'express-headroom';\nconst o: HeadroomOptions = { apiBase: 'http://x', defaultOn: true, onResult: (r: HeadroomResult) => void r.tokensSaved };\nexport const mw = headroomCompression(o);\n",
  );
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  for (const [mod, res] of [
    ['commonjs', 'node10'],
    ['nodenext', 'nodenext'],
  ]) {
    // No skipLibCheck and no esModuleInterop: the shipped .d.ts must stand on their own (issue 16).
    execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', mod, '--moduleResolution', res, '--types', 'node', '--typeRoots', join(root, 'node_modules/@types'), 'check.ts'], { cwd: app, stdio: 'pipe' });
  }
});

test('ESM default import is the middleware factory, typed', () => {
  writeFileSync(
    join(app, 'default.mjs'),
    "import headroomCompression from 'express-headroom';\nconst mw = headroomCompression('http://127.0.0.1:9');\nconsole.log(typeof headroomCompression, typeof mw, typeof mw.close);\nawait mw.close();\n",
  );
  expect(execFileSync(process.execPath, ['default.mjs'], { cwd: app, encoding: 'utf8' }).trim()).toBe('function function function');
  writeFileSync(join(app, 'default.mts'), "import headroomCompression from 'express-headroom';\nexport const mw = headroomCompression('http://127.0.0.1:9');\n");
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--typeRoots', join(root, 'node_modules/@types'), 'default.mts'], { cwd: app, stdio: 'pipe' });
});
