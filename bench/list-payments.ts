import { performance } from 'node:perf_hooks';
import { Store } from '../mock/store';
import type { PaymentRecord } from '../mock/store';

/**
 * Milliseconds per ListPayments page (20 newest, then 20 from the middle, and the same for one device)
 * read from the store's indexes at 0 and 200,000 payments of one account: the figure should not grow
 * with the list (docs/decisions.md "Bounded stores and work per request"). Run with
 * `tsc -b tsconfig.build.json && node dist/bench/list-payments.js`.
 */
function main(): void {
  const sizes = [0, 200_000];
  for (const n of sizes) {
    const store = new Store({ limits: { paymentsPerAccount: n || 1, paymentsMax: n || 1 } });
    for (let i = 0; i < n; i++) {
      const payment: PaymentRecord = {
        paymentId: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
        deviceId: i % 2 === 0 ? 'ESME' : 'GSME',
        amountPence: 1000,
        method: 'CARD',
        status: 'DECLINED',
        createdAt: '2026-01-01T00:00:00.000Z',
      };
      store.addPayment(7, payment);
    }
    const rounds = 10_000;
    for (const [name, deviceId, offset] of [
      ['first page', undefined, 0],
      ['middle page', undefined, Math.floor(n / 2)],
      ['one device, middle', 'GSME', Math.floor(n / 4)],
    ] as const) {
      const start = performance.now();
      for (let r = 0; r < rounds; r++) store.paymentPage(7, deviceId, offset, 20);
      const ms = (performance.now() - start) / rounds;
      process.stdout.write(
        `${String(n).padStart(7)} payments, ${name.padEnd(18)} ${ms.toFixed(4)} ms per page\n`,
      );
    }
  }
}

main();
