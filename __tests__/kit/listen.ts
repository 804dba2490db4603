import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * Listens on an ephemeral loopback port and returns a close() that also destroys open keep-alive
 * sockets, so a suite's afterAll never waits for idle connections (and jest sees no open handle).
 */
export async function listenOnLoopback(server: Server): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
