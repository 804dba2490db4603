/**
 * One gateway process: `gateway.ts <config> <upstreamUrl> <headroomUrl>`. Alone in its process so
 * its RSS and its CPU profile are its own. Samples its RSS itself (every 50 ms, the sampler's cost is
 * a syscall) and reports the peak per measurement window, together with what the middleware decided.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildGateway, parseConfigId, type DecisionCounts } from './configs';
import { sendReady, serveParent } from './procs';

async function main(): Promise<void> {
  const [configArg, upstreamUrl, headroomUrl] = process.argv.slice(2);
  const id = parseConfigId(configArg);
  const decisions: DecisionCounts = {};
  let warnings = 0;
  const logger = {
    debug() {},
    info() {},
    warn() {
      warnings++;
    },
    error() {
      warnings++;
    },
  };
  const { app, headroom } = buildGateway(id, upstreamUrl, headroomUrl, decisions, logger);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  // Longer than any pause between cells: connections are reopened per cell by the load generator anyway.
  server.keepAliveTimeout = 60_000;

  let peak = 0;
  const sample = () => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  };
  const sampler = setInterval(sample, 50);
  sampler.unref();
  // Window bounds on the monotonic clock, in µs: the same clock V8's CPU profile timestamps use,
  // so a `--cpu-prof` profile can be cut to the measured windows (startup and ts-node excluded).
  let windowStartUs = 0;
  // CPU time over the window: on a shared 2-core box throughput moves with the neighbours, CPU per
  // request much less, and utilisation says whether the gateway was the bottleneck at all.
  let cpuAtStart = process.cpuUsage();

  serveParent(
    {
      begin: () => {
        sample();
        peak = process.memoryUsage.rss();
        for (const k of Object.keys(decisions)) delete decisions[k];
        warnings = 0;
        windowStartUs = Number(process.hrtime.bigint() / 1000n);
        cpuAtStart = process.cpuUsage();
        return { rss: peak };
      },
      end: () => {
        sample();
        const cpu = process.cpuUsage(cpuAtStart);
        const out = {
          cpuUs: cpu.user + cpu.system,
          peakRss: peak,
          rss: process.memoryUsage.rss(),
          heapUsed: process.memoryUsage().heapUsed,
          decisions: { ...decisions },
          warnings,
          windowUs: [windowStartUs, Number(process.hrtime.bigint() / 1000n)],
          memoEntries: headroom?.stats().memoEntries,
        };
        return out;
      },
      rss: () => process.memoryUsage.rss(),
    },
    async () => {
      clearInterval(sampler);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await headroom?.close();
    },
  );
  sendReady({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pid: process.pid, config: id });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
