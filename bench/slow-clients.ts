/**
 * The slow-client run of `npm run bench` (issue 11): hostile connections (slowloris, pipeliners that
 * never read, idle) held open against one mock child while a well-behaved probe calls GetBalance at a
 * steady rate; the probe's latency shows whether the hostile ones starve it.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { MockClient, apiHeaders } from './client';
import { sleep } from './children';
import { memoryAfterGc, openFds, percentile, round1, startMockWithGc } from './memory';
import type { MemoryAfterGc } from './memory';

/** How many hostile connections of each kind (bounded: loopback, a few hundred sockets). */
const SLOWLORIS = 100;
const PIPELINERS = 20;
const PIPELINED_REQUESTS = 200;
const IDLE = 200;
/** The slowloris connections send one byte of their headers this often, in ms. */
const SLOWLORIS_BYTE_MS = 500;
/** The probe's rate: one GetBalance every this many ms. */
const PROBE_INTERVAL_MS = 20;
/** Target: the probe's p99 below this, in ms. */
export const SLOW_CLIENTS_P99_TARGET_MS = 50;

/** Figures of the slow-client run (JSON output). */
export interface SlowClientsResult {
  durationS: number;
  connections: { slowloris: number; pipeliners: number; pipelinedRequests: number; idle: number };
  /** Hostile connections the server had closed by the end of the run, per kind. */
  closedByServer: { slowloris: number; pipeliners: number; idle: number };
  probe: { requests: number; non200: number; errors: number; p50Ms: number; p99Ms: number; maxMs: number };
  p99Ok: boolean;
  /** The server's memory after GC and open file descriptors: before, at the end of the attack, after it. */
  before: MemoryAfterGc & { fds: number };
  during: MemoryAfterGc & { fds: number };
  after: MemoryAfterGc & { fds: number };
}

/** A hostile connection and whether the server closed it. */
interface Hostile {
  socket: Socket;
  closed: boolean;
  /** Settles once the connection is open and has sent its first bytes (or failed). */
  connected: Promise<void>;
}

function open(port: number, onConnect: (socket: Socket) => void): Hostile {
  const socket = connect({ host: '127.0.0.1', port });
  let connected: () => void = () => undefined;
  const hostile: Hostile = {
    socket,
    closed: false,
    connected: new Promise<void>((resolve) => (connected = resolve)),
  };
  socket.on('error', () => {
    connected();
  });
  socket.on('close', () => {
    hostile.closed = true;
    connected();
  });
  socket.on('connect', () => {
    onConnect(socket);
    connected();
  });
  return hostile;
}

/**
 * Runs the slow-client scenario for `durationS` seconds against a fresh mock child.
 * @returns the figures and the report's lines.
 * @throws when the mock cannot start or the probe cannot log in.
 */
export async function runSlowClients(
  durationS: number,
): Promise<{ result: SlowClientsResult; lines: string[] }> {
  const server = await startMockWithGc('mock (slow clients)');
  const client = new MockClient(server.port);
  const hostile: Record<'slowloris' | 'pipeliners' | 'idle', Hostile[]> = {
    slowloris: [],
    pipeliners: [],
    idle: [],
  };
  const timers: NodeJS.Timeout[] = [];
  try {
    const session = await client.login('basic');
    await client.warmUp(session, 500);
    const measure = async (): Promise<MemoryAfterGc & { fds: number }> => ({
      ...(await memoryAfterGc(server)),
      fds: openFds(server),
    });
    const before = await measure();

    const slowHead = `GET /api/energy/premises HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(4000)}\r\n\r\n`;
    for (let i = 0; i < SLOWLORIS; i++) {
      const h = open(server.port, (socket) => {
        let sent = 0;
        const timer = setInterval(() => {
          if (h.closed || sent >= slowHead.length) return;
          socket.write(slowHead[sent++]!);
        }, SLOWLORIS_BYTE_MS);
        timers.push(timer);
      });
      hostile.slowloris.push(h);
    }
    const pipelined = 'GET /docs/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(PIPELINED_REQUESTS);
    for (let i = 0; i < PIPELINERS; i++) {
      const h = open(server.port, (socket) => {
        // Never read: the replies fill the kernel's buffers and then the server's.
        socket.pause();
        socket.write(pipelined);
      });
      hostile.pipeliners.push(h);
    }
    for (let i = 0; i < IDLE; i++) hostile.idle.push(open(server.port, () => undefined));
    // The probe starts once every hostile connection is open and has sent what it sends at once (this
    // process opening 320 sockets is not the server's delay); the server meets the attack meanwhile.
    await Promise.all(
      Object.values(hostile)
        .flat()
        .map((h) => h.connected),
    );

    const latencies: number[] = [];
    let non200 = 0;
    let errors = 0;
    const headers = apiHeaders(session.accessToken);
    const inFlight: Promise<void>[] = [];
    const end = performance.now() + durationS * 1000;
    for (let next = performance.now(); next < end; next += PROBE_INTERVAL_MS) {
      await sleep(Math.max(0, next - performance.now()));
      const t0 = performance.now();
      inFlight.push(
        client.send('GET', `/api/energy/devices/${session.deviceId}/balance`, headers).then(
          (reply) => {
            latencies.push(performance.now() - t0);
            if (reply.status !== 200) non200 += 1;
          },
          () => {
            errors += 1;
          },
        ),
      );
    }
    await Promise.all(inFlight);
    const during = await measure();
    const closedByServer = {
      slowloris: hostile.slowloris.filter((h) => h.closed).length,
      pipeliners: hostile.pipeliners.filter((h) => h.closed).length,
      idle: hostile.idle.filter((h) => h.closed).length,
    };
    for (const t of timers) clearInterval(t);
    for (const h of Object.values(hostile).flat()) h.socket.destroy();
    await sleep(1000);
    const after = await measure();
    const p99Ms = round1(percentile(latencies, 99));
    const result: SlowClientsResult = {
      durationS,
      connections: {
        slowloris: SLOWLORIS,
        pipeliners: PIPELINERS,
        pipelinedRequests: PIPELINED_REQUESTS,
        idle: IDLE,
      },
      closedByServer,
      probe: {
        requests: latencies.length + errors,
        non200,
        errors,
        p50Ms: round1(percentile(latencies, 50)),
        p99Ms,
        maxMs: round1(percentile(latencies, 100)),
      },
      p99Ok: p99Ms < SLOW_CLIENTS_P99_TARGET_MS && errors === 0 && non200 === 0,
      before,
      during,
      after,
    };
    const fmt = (m: MemoryAfterGc & { fds: number }): string =>
      `RSS ${m.rssMiB} MiB, heap ${m.heapUsedMiB} MiB, ${m.fds} fds`;
    const lines = [
      `Slow clients: ${durationS} s with ${SLOWLORIS} slowloris connections (a header byte every ${SLOWLORIS_BYTE_MS} ms), ${PIPELINERS} pipeliners of ${PIPELINED_REQUESTS} GET /docs/openapi.json that never read, ${IDLE} idle connections; a probe calls GetBalance every ${PROBE_INTERVAL_MS} ms`,
      `  probe: ${result.probe.requests} requests, p50 ${result.probe.p50Ms} ms, p99 ${p99Ms} ms, max ${result.probe.maxMs} ms, non-200 ${non200}, errors ${errors}: p99 < ${SLOW_CLIENTS_P99_TARGET_MS} ms ${result.p99Ok ? 'ok' : 'MISSED'}`,
      `  closed by the server by the end: slowloris ${closedByServer.slowloris}/${SLOWLORIS}, pipeliners ${closedByServer.pipeliners}/${PIPELINERS}, idle ${closedByServer.idle}/${IDLE}`,
      `  server (after GC): before ${fmt(before)}; end of the attack ${fmt(during)}; 1 s after closing them ${fmt(after)}`,
    ];
    return { result, lines };
  } finally {
    for (const t of timers) clearInterval(t);
    for (const h of Object.values(hostile).flat()) h.socket.destroy();
    client.close();
    await server.stop();
  }
}
