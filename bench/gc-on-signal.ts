/**
 * Preloaded into a benchmark's server child (`NODE_OPTIONS=--require dist/bench/gc-on-signal.js`) with
 * `BENCH_GC_SIGNAL` set (e.g. `SIGUSR2`): on that signal the child collects garbage twice and writes one
 * line to stderr, `bench-gc <n> rss=<bytes> heapUsed=<bytes>`, so the bench can read its resident memory
 * after a GC without an endpoint in the mock. Without `BENCH_GC_SIGNAL` it does nothing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const signal = process.env.BENCH_GC_SIGNAL;
if (signal) {
  // The same as `node --expose-gc`, which NODE_OPTIONS does not accept on Node.js 20.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let count = 0;
  process.on(signal as NodeJS.Signals, () => {
    gc();
    gc();
    const { rss, heapUsed } = process.memoryUsage();
    count += 1;
    process.stderr.write(`bench-gc ${count} rss=${rss} heapUsed=${heapUsed}\n`);
  });
}
