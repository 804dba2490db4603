/**
 * `npm run bench`: drives gateway configurations (a)–(e) (see configs.ts) on 127.0.0.1 from a
 * separate load process and reports them side by side. Every process it starts is a child it
 * stops at the end (procs.ts kills leftovers even on Ctrl-C).
 *
 * Layout: one upstream process, one Headroom stand-in process, one load process, and per body one
 * gateway process per configuration (fresh per body, so each body's peak RSS is its own).
 * Per body: check each gateway answers, prime the memo where the config needs it, warm each up, then
 * `rounds` rounds of all configurations, the order rotated each round so drift (thermal, GC, noisy
 * neighbours) lands on every configuration alike. Finally a soak: (d) for 60 s, RSS sampled each second.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildForBench, builtModule, ROOT } from './build';
import { BODY_NAMES, type BodyName, type Variant } from './bodies';
import { CONFIGS, CONFIG_IDS, parseConfigId, type ConfigId } from './configs';
import type { LoadResult, RunSpec } from './load';
import { spawnChild, type Child } from './procs';
import { renderProfile, summariseProfile, type WindowsFile } from './profile';
import { checkTargets, isQuiet, machine, renderMarkdown, summarise, summariseSoak, writeReport, type Report, type RoundCell, type SoakResult } from './report';

interface Options {
  durationS: number;
  connections: number;
  rounds: number;
  warmupS: number;
  bodies: BodyName[];
  configs: ConfigId[];
  soak: boolean;
  soakS: number;
  cpuProf: boolean;
  /** A cell is quiet when other processes used at most this many cores during it. */
  maxForeign: number;
  /** Re-measurements allowed per cell while it is not quiet. */
  retries: number;
}

const USAGE = `npm run bench -- [options]
  --duration S       seconds per measured cell (default 2)
  --connections N    concurrent keep-alive connections (default 10)
  --rounds N         rounds, configurations alternated in each (default 8)
  --warmup S         warm-up per gateway before the rounds, not measured (default 2)
  --bodies LIST      ${BODY_NAMES.join(',')} (default all)
  --configs LIST     ${CONFIG_IDS.join(',')} (c' also as cp; default all)
  --soak-duration S  length of the (d) RSS soak (default 60)
  --no-soak          skip the soak
  --max-foreign C    a cell is quiet when other processes used ≤ C cores meanwhile (default 0.25)
  --retries N        re-measure a cell that was not quiet up to N times, keeping the quietest
                     (default 2; at most one extra measurement per two cells over the run)
  --quick            smoke run: 1 s cells, 2 rounds, 1 s warm-up, 10 s soak
  --cpu-prof         run gateways under node --cpu-prof; prints top self time per config
                     (profiles in bench/results/profiles/, cut to the measured windows)`;

function parseArgs(argv: string[]): Options {
  // Many short rounds rather than few long ones: on a shared 2-core machine other jobs move
  // throughput by ±50% within seconds; 8 alternations of 2 s pair each configuration with (a)
  // closely in time (the ratios are per round) for the same 16 s of load per cell.
  const o: Options = {
    durationS: 2,
    connections: 10,
    rounds: 8,
    warmupS: 2,
    bodies: [...BODY_NAMES],
    configs: [...CONFIG_IDS],
    soak: true,
    soakS: 60,
    cpuProf: false,
    maxForeign: 0.25,
    retries: 2,
  };
  const num = (v: string | undefined, name: string, min: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`${name} needs a number ≥ ${min}, got "${v}"`);
    return n;
  };
  // --quick first, so explicit options given with it still win.
  if (argv.includes('--quick')) Object.assign(o, { durationS: 1, rounds: 2, warmupS: 1, soakS: 10 });
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--duration':
        o.durationS = num(value(), flag, 0.5);
        break;
      case '--connections':
        o.connections = Math.floor(num(value(), flag, 1));
        break;
      case '--rounds':
        o.rounds = Math.floor(num(value(), flag, 1));
        break;
      case '--warmup':
        o.warmupS = num(value(), flag, 0);
        break;
      case '--soak-duration':
        o.soakS = num(value(), flag, 5);
        break;
      case '--bodies':
        o.bodies = value()
          .split(',')
          .map((b) => {
            if (!(BODY_NAMES as readonly string[]).includes(b.trim())) throw new Error(`unknown body "${b}"; use ${BODY_NAMES.join(', ')}`);
            return b.trim() as BodyName;
          });
        break;
      case '--configs':
        o.configs = value().split(',').map(parseConfigId);
        break;
      case '--no-soak':
        o.soak = false;
        break;
      case '--quick':
        break;
      case '--cpu-prof':
        o.cpuProf = true;
        break;
      case '--max-foreign':
        o.maxForeign = num(value(), flag, 0);
        break;
      case '--retries':
        o.retries = Math.floor(num(value(), flag, 0));
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
    }
  }
  // The rounds compare against (a): keep its order first in the list, but every config is optional.
  o.configs = CONFIG_IDS.filter((c) => o.configs.includes(c));
  return o;
}

const RESULTS = path.join(__dirname, 'results');
const fileSafe = (c: ConfigId) => c.replace("'", 'p');

interface Servers {
  upstream: Child & { info: any };
  headroom: Child & { info: any };
  load: Child & { info: any };
}

async function startGateway(config: ConfigId, body: BodyName, s: Servers, o: Options, profileDir: string) {
  const nodeArgs = o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `gateway-${fileSafe(config)}-${body}.cpuprofile`] : [];
  return spawnChild(`gateway (${config}) ${body}`, builtModule('gateway'), [config, s.upstream.info.url, s.headroom.info.url], nodeArgs, ROOT);
}

/** Checks the wiring with single requests, primes the memo where the config expects it, then warms up. */
async function prepareGateway(g: Child & { info: any }, config: ConfigId, body: BodyName, s: Servers, o: Options): Promise<void> {
  const spec = CONFIGS[config];
  if (spec.prime) {
    const r = await s.load.call<{ status: number }>({ type: 'once', url: g.info.url, body: 'prime', variant: 'optin' satisfies Variant });
    if (r.status !== 200) throw new Error(`${g.name}: priming request answered ${r.status}`);
  }
  const r = await s.load.call<{ status: number; headers: Record<string, unknown> }>({ type: 'once', url: g.info.url, body, variant: spec.variant });
  if (r.status !== 200) throw new Error(`${g.name}: first request answered ${r.status}`);
  if (o.warmupS > 0) await runLoad(s, g.info.url, body, spec.variant, o.connections, o.warmupS);
  await s.upstream.call({ type: 'take' });
  await s.headroom.call({ type: 'take' });
}

function runLoad(s: Servers, url: string, body: BodyName, variant: Variant, connections: number, seconds: number): Promise<LoadResult> {
  const spec: RunSpec = { url, body, variant, connections, durationMs: seconds * 1000 };
  return s.load.call<LoadResult>({ type: 'run', spec }, seconds * 1000 + 120_000);
}

/** Busy and total CPU time of the whole machine (/proc/stat jiffies); undefined where there is no /proc. */
function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - f[4], total };
  } catch {
    return undefined;
  }
}

type Measured = RoundCell & { windowUs: [number, number] };

/**
 * Measures a cell; while other processes were busy during it (see report.ts, quiet rounds),
 * measures it again, up to `o.retries` times and within `budget`, keeping the quietest attempt.
 */
async function measureCell(g: Child, config: ConfigId, body: BodyName, round: number, s: Servers, o: Options, budget: { left: number }): Promise<Measured> {
  let best = await measureOnce(g, config, body, round, s, o);
  for (let attempt = 1; attempt <= o.retries && budget.left > 0 && !isQuiet(best, o.maxForeign); attempt++) {
    budget.left--;
    console.log(`  [${body} r${round + 1}] (${config}) other processes used ${best.foreignCores!.toFixed(2)} cores: measuring again`);
    const next = await measureOnce(g, config, body, round, s, o);
    next.attempts = best.attempts + 1;
    if ((next.foreignCores ?? 0) <= (best.foreignCores ?? 0)) best = next;
    else best.attempts = next.attempts;
  }
  return best;
}

async function measureOnce(g: Child, config: ConfigId, body: BodyName, round: number, s: Servers, o: Options): Promise<Measured> {
  await s.upstream.call({ type: 'take' });
  await s.headroom.call({ type: 'take' });
  await g.call({ type: 'begin' });
  const cpu0 = machineCpu();
  const load = await runLoad(s, (g as any).info.url, body, CONFIGS[config].variant, o.connections, o.durationS);
  const cpu1 = machineCpu();
  const gateway = await g.call({ type: 'end' });
  const upstream = await s.upstream.call({ type: 'take' });
  const headroom = await s.headroom.call({ type: 'take' });
  let foreignCores: number | undefined;
  if (cpu0 && cpu1 && cpu1.total > cpu0.total) {
    // Whole machine busy, in cores, minus what the bench's own four processes used in the same time.
    const busyCores = ((cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total)) * os.availableParallelism();
    const ours = (gateway.cpuUs + load.cpuUs + upstream.cpuUs + headroom.cpuUs) / 1000 / load.elapsedMs;
    foreignCores = Math.max(0, busyCores - ours);
  }
  return { round, body, config, load, gateway, upstream, headroom, foreignCores, attempts: 1, windowUs: gateway.windowUs };
}

function pctl(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
}

function progress(c: RoundCell, rounds: number): void {
  const rps = c.load.completed / (c.load.elapsedMs / 1000);
  const non200 = Object.values(c.load.statuses).reduce((a, b) => a + b, 0);
  const util = (us: number) => `${Math.round((us / 1000 / c.load.elapsedMs) * 100)}%`.padStart(4);
  console.log(
    `  [${c.body} r${c.round + 1}/${rounds}] (${c.config})`.padEnd(24) +
      `${rps.toFixed(0).padStart(6)} req/s  p50 ${pctl(c.load.latencies, 0.5).toFixed(1).padStart(6)} ms  p99 ${pctl(c.load.latencies, 0.99).toFixed(1).padStart(6)} ms  ` +
      `peak RSS ${(c.gateway.peakRss / 1048576).toFixed(0).padStart(4)} MB  CPU gw ${util(c.gateway.cpuUs)} load ${util(c.load.cpuUs)} up ${util(c.upstream.cpuUs)} hr ${util(c.headroom.cpuUs)}  ` +
      `others ${c.foreignCores?.toFixed(1) ?? '?'} cores  gw ${Math.round(c.gateway.cpuUs / Math.max(1, c.load.completed))} µs/req  calls ${c.headroom.requests}  non-200 ${non200}  errors ${c.load.errors}`,
  );
}

async function soak(s: Servers, o: Options): Promise<SoakResult> {
  const body = o.bodies[0];
  const g = await spawnChild(`gateway (d) soak`, builtModule('gateway'), ['d', s.upstream.info.url, s.headroom.info.url], [], ROOT);
  try {
    await prepareGateway(g, 'd', body, s, { ...o, warmupS: Math.max(o.warmupS, 3) });
    const samples: number[] = [];
    let done = false;
    const loadDone = runLoad(s, g.info.url, body, CONFIGS.d.variant, o.connections, o.soakS).finally(() => {
      done = true;
    });
    // One sample a second while the load runs; bounded even if the load call misbehaves.
    const maxSamples = Math.ceil(o.soakS) + 60;
    while (!done && samples.length < maxSamples) {
      samples.push(await g.call<number>({ type: 'rss' }));
      await new Promise((r) => setTimeout(r, 1000));
    }
    const load = await loadDone;
    return summariseSoak('d', body, samples, load);
  } finally {
    await g.stop();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseArgs(argv);
  const startedAt = new Date().toISOString();
  const cellsPerBody = o.configs.length * (o.warmupS + o.rounds * o.durationS);
  const estimate = o.bodies.length * cellsPerBody + (o.soak ? o.soakS + 3 : 0);
  console.log(
    `bench: ${o.configs.join(' ')} × ${o.bodies.join(' ')}; ${o.connections} connections, ${o.durationS} s × ${o.rounds} rounds; ` +
      `about ${Math.ceil(estimate / 60)} min of load (up to 1.5× that if other jobs force re-measuring)`,
  );

  const profileDir = path.join(RESULTS, 'profiles');
  if (o.cpuProf) fs.mkdirSync(profileDir, { recursive: true });
  console.log(`built ${buildForBench()} files for the child processes (plain node, no ts-node in their RSS)`);
  const started: Child[] = [];
  const cells: RoundCell[] = [];
  const windows = new Map<string, Array<[number, number]>>();
  const profiled = new Map<string, number>();
  // Re-measuring is bounded over the whole run, so a machine that is never quiet costs at most 1.5× the time.
  const budget = { left: Math.ceil((o.bodies.length * o.configs.length * o.rounds) / 2) };
  let soakResult: SoakResult | undefined;
  try {
    const [upstream, headroom, load] = await Promise.all([
      spawnChild('upstream', builtModule('servers'), ['upstream'], [], ROOT),
      spawnChild('headroom stand-in', builtModule('servers'), ['headroom'], [], ROOT),
      spawnChild('load', builtModule('load'), [], [], ROOT),
    ]);
    started.push(upstream, headroom, load);
    const s: Servers = { upstream, headroom, load };
    const wanted: Array<[string, Variant]> = [['prime', 'optin']];
    for (const b of o.bodies) for (const c of o.configs) wanted.push([b, CONFIGS[c].variant]);
    const sizes = await load.call<Array<{ key: string; bytes: number }>>({ type: 'prepare', bodies: wanted });
    console.log('bodies: ' + sizes.map((x) => `${x.key} ${(x.bytes / 1024).toFixed(0)} KB`).join(', '));

    for (const body of o.bodies) {
      const gateways = new Map<ConfigId, Child & { info: any }>();
      try {
        for (const config of o.configs) {
          const g = await startGateway(config, body, s, o, profileDir);
          gateways.set(config, g);
          started.push(g);
        }
        for (const config of o.configs) await prepareGateway(gateways.get(config)!, config, body, s, o);
        for (let round = 0; round < o.rounds; round++) {
          const order = o.configs.map((_, i) => o.configs[(i + round) % o.configs.length]);
          for (const config of order) {
            const cell = await measureCell(gateways.get(config)!, config, body, round, s, o, budget);
            const key = `${fileSafe(config)}-${body}`;
            windows.set(key, [...(windows.get(key) ?? []), cell.windowUs]);
            profiled.set(key, (profiled.get(key) ?? 0) + cell.load.completed);
            const { windowUs: _w, ...rest } = cell;
            cells.push(rest);
            progress(rest, o.rounds);
          }
        }
      } finally {
        for (const g of gateways.values()) await g.stop();
      }
    }
    if (o.soak) {
      console.log(`soak: (d) on ${o.bodies[0]} for ${o.soakS} s, RSS sampled each second`);
      soakResult = await soak(s, o);
    }
  } finally {
    for (const c of started.reverse()) await c.stop();
  }

  const summaries = summarise(cells, o.connections, o.maxForeign);
  const report: Report = {
    command: argv.length ? `npm run bench -- ${argv.join(' ')}` : 'npm run bench',
    machine: machine(),
    options: {
      durationS: o.durationS,
      connections: o.connections,
      rounds: o.rounds,
      warmupS: o.warmupS,
      bodies: o.bodies,
      configs: o.configs,
      soakS: o.soak ? o.soakS : 0,
      maxForeign: o.maxForeign,
      retries: o.retries,
    },
    startedAt,
    finishedAt: new Date().toISOString(),
    cells: summaries,
    targets: checkTargets(cells, o.maxForeign),
    soak: soakResult,
    rounds: cells.map(({ load, ...rest }) => {
      const { latencies: _l, ...l } = load;
      return { ...rest, load: { ...l, rps: l.completed / (l.elapsedMs / 1000) } };
    }),
  };
  const file = writeReport(report);
  console.log('');
  console.log(renderMarkdown(report));
  console.log(`results: ${path.relative(process.cwd(), file)}`);

  if (o.cpuProf) {
    const parts: string[] = [];
    const recorded: WindowsFile = {};
    for (const [key, w] of windows) {
      const f = path.join(profileDir, `gateway-${key}.cpuprofile`);
      if (!fs.existsSync(f)) continue;
      recorded[path.basename(f)] = { windowsUs: w, requests: profiled.get(key) ?? 0 };
      parts.push(renderProfile(summariseProfile(f, w), `gateway ${key}`, profiled.get(key)));
    }
    // So `bench/profile.ts <file>` can summarise a profile again later, cut the same way.
    fs.writeFileSync(path.join(profileDir, 'windows.json'), JSON.stringify(recorded, null, 2) + '\n');
    const md = [`Command: \`${report.command}\` (${report.startedAt}); self time per function in the measured windows only.`, '', ...parts].join('\n');
    fs.writeFileSync(path.join(RESULTS, 'profile-latest.md'), md + '\n');
    console.log('\n' + md);
  }
  const missed = report.targets.filter((t) => !t.met).length + (report.soak && !report.soak.met ? 1 : 0);
  if (missed) console.log(`${missed} target(s) not met`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
