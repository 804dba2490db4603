/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and reports self time by function and by
 * owner (this package's lib/, express and its dependencies, http-proxy(-middleware), node core, V8).
 * Samples outside the measured windows are dropped: a gateway's profile otherwise starts with
 * ts-node compiling lib/, which is not what a request costs.
 *
 *   ts-node --transpile-only bench/profile.ts <file.cpuprofile> [windowStartUs-windowEndUs ...]
 */
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { BUILD_DIR, ROOT } from './build';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export type Owner = 'lib' | 'express' | 'http-proxy' | 'node' | 'gc' | 'v8' | 'idle' | 'other';

export interface FunctionTime {
  owner: Owner;
  name: string;
  where: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  file: string;
  sampledMs: number;
  byOwner: Record<Owner, number>;
  top: FunctionTime[];
  /** The top functions that belong to lib/, express or http-proxy: where the middleware's time goes. */
  topOwned: FunctionTime[];
}

// Express 5's own dependency tree: what a user gets from `express` and `express.json()`.
const EXPRESS = new Set(
  'express router body-parser raw-body finalhandler on-finished type-is mime-types mime-db content-type qs path-to-regexp parseurl encodeurl escape-html depd debug ms iconv-lite safer-buffer bytes http-errors statuses media-typer send serve-static vary merge-descriptors setprototypeof accepts negotiator fresh etag proxy-addr forwarded ipaddr.js range-parser content-disposition cookie cookie-signature unpipe ee-first toidentifier inherits once wrappy is-promise side-channel call-bound'.split(
    ' ',
  ),
);
const PROXY = new Set('http-proxy http-proxy-middleware follow-redirects eventemitter3 requires-port micromatch braces picomatch is-glob is-plain-object'.split(' '));

const maps = new Map<string, SourceMap | null>();

/**
 * A frame of the built copy (build.ts) mapped back to the TypeScript it came from, so it is owned
 * by lib/ and reported with lib/*.ts lines. Other frames are returned as they are.
 */
function original(frame: CallFrame): CallFrame {
  const file = frame.url.startsWith('file://') ? new URL(frame.url).pathname : frame.url;
  if (!file.startsWith(BUILD_DIR + path.sep)) return frame;
  let map = maps.get(file);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = null;
    }
    maps.set(file, map);
  }
  const fallback = path.join(ROOT, path.relative(BUILD_DIR, file)).replace(/\.js$/, '.ts');
  const e = map?.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
  const source = e?.originalSource ? (e.originalSource.startsWith('file://') ? new URL(e.originalSource).pathname : e.originalSource) : fallback;
  return { ...frame, url: source, lineNumber: e?.originalLine ?? frame.lineNumber };
}

function packageOf(url: string): string | undefined {
  const at = url.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const rest = url.slice(at + 'node_modules/'.length).split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

export function ownerOf(frame: CallFrame): Owner {
  const url = frame.url;
  // (idle) is the event loop waiting: not CPU. (garbage collector) is kept apart: buffering shows up there.
  if (frame.functionName === '(idle)') return 'idle';
  if (frame.functionName === '(garbage collector)') return 'gc';
  if (!url) return frame.functionName.startsWith('(') ? 'v8' : 'node';
  if (url.startsWith('node:')) return 'node';
  const pkg = packageOf(url);
  if (pkg) return EXPRESS.has(pkg) ? 'express' : PROXY.has(pkg) ? 'http-proxy' : 'other';
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  if (file.startsWith(path.join(ROOT, 'lib') + path.sep)) return 'lib';
  return 'other';
}

function where(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return '';
  const pkg = packageOf(url);
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  const short = pkg ? `${pkg}/${file.slice(file.lastIndexOf('node_modules/') + 'node_modules/'.length + pkg.length + 1)}` : path.relative(ROOT, file) || file;
  return `${short}:${frame.lineNumber + 1}`;
}

export function summariseProfile(file: string, windowsUs: Array<[number, number]> = [], topN = 25): ProfileSummary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = p.startTime;
  let sampled = 0;
  const inWindow = (ts: number) => windowsUs.length === 0 || windowsUs.some(([a, b]) => ts >= a && ts <= b);
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    // A sample stands for the time until the next one (as DevTools counts it).
    const dur = i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1] : 0;
    if (!inWindow(t) || dur <= 0) continue;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dur);
    sampled += dur;
  }
  // The same function appears under many call paths: merge by function identity.
  const byFn = new Map<string, FunctionTime>();
  const byOwner: Record<Owner, number> = { lib: 0, express: 0, 'http-proxy': 0, node: 0, gc: 0, v8: 0, idle: 0, other: 0 };
  for (const [id, us] of self) {
    const frame = original(byId.get(id)!.callFrame);
    const owner = ownerOf(frame);
    byOwner[owner] += us / 1000;
    const name = frame.functionName || '(anonymous)';
    const key = `${name}\0${frame.url}\0${frame.lineNumber}`;
    const e = byFn.get(key);
    if (e) e.selfMs += us / 1000;
    else byFn.set(key, { owner, name, where: where(frame), selfMs: us / 1000, share: 0 });
  }
  const all = [...byFn.values()].sort((a, b) => b.selfMs - a.selfMs);
  for (const f of all) f.share = f.selfMs / (sampled / 1000);
  return {
    file,
    sampledMs: sampled / 1000,
    byOwner,
    top: all.slice(0, topN),
    topOwned: all.filter((f) => f.owner === 'lib' || f.owner === 'express' || f.owner === 'http-proxy').slice(0, topN),
  };
}

/**
 * Markdown for one profile. With `requests` (completed in the profiled windows) every row also gets
 * µs per request, which is what compares across configurations that ran at different rates.
 */
export function renderProfile(s: ProfileSummary, label: string, requests?: number): string {
  const pct = (ms: number) => `${((ms / s.sampledMs) * 100).toFixed(1)}%`;
  const perReq = (ms: number) => (requests ? ` | ${((ms * 1000) / requests).toFixed(1)}` : '');
  const head = requests ? '| self % | self ms | µs/req | owner | function | where |' : '| self % | self ms | owner | function | where |';
  const rule = requests ? '|--:|--:|--:|---|---|---|' : '|--:|--:|---|---|---|';
  const row = (f: FunctionTime) => `| ${(f.share * 100).toFixed(1)} | ${f.selfMs.toFixed(0)}${perReq(f.selfMs)} | ${f.owner} | ${f.name} | ${f.where} |`;
  const lines = [`### ${label}: ${s.sampledMs.toFixed(0)} ms sampled${requests ? `, ${requests} requests` : ''} (${path.basename(s.file)})`, ''];
  lines.push(
    'Self time by owner: ' +
      Object.entries(s.byOwner)
        .map(([k, v]) => `${k} ${pct(v)}${requests ? ` (${((v * 1000) / requests).toFixed(0)} µs/req)` : ''}`)
        .join(', '),
  );
  lines.push('');
  lines.push(head, rule);
  for (const f of s.top) lines.push(row(f));
  lines.push('');
  lines.push('Top self time in lib/, express and http-proxy only:');
  lines.push('');
  lines.push(head, rule);
  for (const f of s.topOwned.slice(0, 15)) lines.push(row(f));
  lines.push('');
  return lines.join('\n');
}

/** What run.ts writes next to the profiles: per profile, the measured windows and the requests completed in them. */
export type WindowsFile = Record<string, { windowsUs: Array<[number, number]>; requests: number }>;

if (require.main === module) {
  const [file, ...windows] = process.argv.slice(2);
  if (!file) {
    console.error('usage: bench/profile.ts <file.cpuprofile> [startUs-endUs ...]   (windows default to those in windows.json beside it)');
    process.exit(2);
  }
  let w = windows.map((s) => s.split('-').map(Number) as [number, number]);
  let requests: number | undefined;
  const recorded = path.join(path.dirname(file), 'windows.json');
  if (w.length === 0 && fs.existsSync(recorded)) {
    const entry = (JSON.parse(fs.readFileSync(recorded, 'utf8')) as WindowsFile)[path.basename(file)];
    if (entry) {
      w = entry.windowsUs;
      requests = entry.requests;
    }
  }
  console.log(renderProfile(summariseProfile(file, w), path.basename(file), requests));
}
