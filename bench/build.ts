/**
 * Transpiles lib/ and the bench's child modules to plain JavaScript before a run, so the measured
 * processes run as a deployed gateway does. Under ts-node every child would carry the TypeScript
 * compiler: about 70 MB of RSS that is not the gateway's (measured: 71 MB vs 143 MB idle), which
 * would flatten every RSS ratio toward 1.
 *
 * Output goes to node_modules/.cache/ (ignored by git, and under node_modules so `require('express')`
 * from a built file resolves to the repo's packages). Source maps are written so profile.ts can
 * report lib/*.ts lines, not built-file lines. Transpile only: type errors are `npm run typecheck`'s job.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { tsFilesUnder } from './files';

export const ROOT = path.resolve(__dirname, '..');
export const BUILD_DIR = path.join(ROOT, 'node_modules', '.cache', 'express-headroom-bench');

/** The bench modules that run in child processes, and what they import. */
const BENCH_MODULES = ['bodies', 'configs', 'files', 'gateway', 'load', 'procs', 'servers'];

/** Builds into BUILD_DIR (replacing what was there) and returns the number of files written. */
export function buildForBench(): number {
  fs.rmSync(BUILD_DIR, { recursive: true, force: true });
  const files = [...tsFilesUnder(path.join(ROOT, 'lib')), ...BENCH_MODULES.map((m) => path.join(ROOT, 'bench', `${m}.ts`))];
  for (const file of files) {
    const rel = path.relative(ROOT, file);
    const outFile = path.join(BUILD_DIR, rel.replace(/\.ts$/, '.js'));
    const { outputText, sourceMapText } = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        sourceMap: true,
        // Absolute sources: the map then names the real lib/*.ts file.
        sourceRoot: '',
      },
    });
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    fs.writeFileSync(outFile, outputText);
    if (sourceMapText) {
      const map = JSON.parse(sourceMapText);
      map.sources = [file];
      fs.writeFileSync(`${outFile}.map`, JSON.stringify(map));
    }
  }
  fs.writeFileSync(path.join(BUILD_DIR, 'package.json'), '{"type":"commonjs","private":true}\n');
  return files.length;
}

/** Where the built copy of bench/<module>.ts is. */
export function builtModule(module: string): string {
  return path.join(BUILD_DIR, 'bench', `${module}.js`);
}
