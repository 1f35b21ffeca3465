/**
 * The baseline server of the throughput benchmark: Express 5's hello world, run as its own process
 * (`PORT` env, bound to 127.0.0.1 only).
 */
import express from 'express';

const app = express();
app.get('/', (_req, res) => {
  res.send('hello');
});
app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.once('SIGTERM', () => process.exit(0));
