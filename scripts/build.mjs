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
const names = Object.keys(require(join(root, 'dist/cjs/index.js'))).filter((n) => n !== 'default' && n !== '__esModule');
mkdirSync(join(root, 'dist/esm'), { recursive: true });
writeFileSync(
  join(root, 'dist/esm/index.mjs'),
  // The default export is the middleware factory, as `require('express-headroom').default` is.
  `import cjs from '../cjs/index.js';\nexport const { ${names.join(', ')} } = cjs;\nexport default cjs.default;\n`,
);
// Re-exporting `default` from CommonJS types would give ESM users the module object under node16
// interop; declaring it as the factory's own type matches what index.mjs exports at run time.
writeFileSync(
  join(root, 'dist/esm/index.d.mts'),
  `export * from '../cjs/index.js';\nimport type * as cjs from '../cjs/index.js';\ndeclare const headroomCompression: typeof cjs.headroomCompression;\nexport default headroomCompression;\n`,
);
console.log(`built dist/cjs and dist/esm (${names.length} exports)`);
