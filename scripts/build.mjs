// Builds the package: CommonJS + .d.ts with tsc, then a thin ESM entry that re-exports the CommonJS
// build. One implementation behind both entry points means no dual-package hazard (one memo, one
// breaker, one instanceof identity for errors whether a user imports or requires).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
const require = createRequire(import.meta.url);
mkdirSync(join(root, 'dist/esm'), { recursive: true });

/** A thin ESM entry re-exporting a CommonJS one: one implementation behind both, no dual-package hazard. */
function esmEntry(name, cjsPath, defaultExport) {
  const names = Object.keys(require(join(root, 'dist/cjs', cjsPath))).filter((n) => n !== 'default' && n !== '__esModule');
  const body = `import cjs from '../cjs/${cjsPath}';\nexport const { ${names.join(', ')} } = cjs;\n`;
  // The default export is the middleware factory, as `require('express-headroom').default` is.
  writeFileSync(join(root, `dist/esm/${name}.mjs`), defaultExport ? `${body}export default cjs.default;\n` : body);
  // Re-exporting `default` from CommonJS types would give ESM users the module object under node16
  // interop; declaring it as the factory's own type matches what the .mjs exports at run time.
  const types = `export * from '../cjs/${cjsPath}';\n`;
  writeFileSync(
    join(root, `dist/esm/${name}.d.mts`),
    defaultExport
      ? `${types}import type * as cjs from '../cjs/${cjsPath}';\ndeclare const headroomCompression: typeof cjs.headroomCompression;\nexport default headroomCompression;\n`
      : types,
  );
  return names.length;
}
const names = { length: esmEntry('index', 'index.js', true) + esmEntry('compressor', 'compressor/index.js', false) };
console.log(`built dist/cjs and dist/esm (${names.length} exports)`);
