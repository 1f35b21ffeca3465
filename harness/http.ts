import request from 'supertest';
import type { HttpRequest, HttpResponse, Target } from './types';

function parse(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Sends requests to a target, in-process (supertest) or over HTTP (fetch), at most `rate` a second. */
export class Transport {
  private next = 0;
  /** Requests sent so far. */
  count = 0;

  constructor(private readonly target: Target) {}

  private async pace(): Promise<void> {
    if (this.target.rate <= 0) return;
    const now = performance.now();
    const wait = this.next - now;
    this.next = Math.max(now, this.next) + 1000 / this.target.rate;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  /** Sends one request and reads the whole response. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    await this.pace();
    this.count++;
    if (this.target.app) {
      let test = request(this.target.app)[req.method.toLowerCase() as 'get'](req.path);
      for (const [k, v] of Object.entries(req.headers)) test = test.set(k, v);
      // supertest's buffer/parse are bypassed so the harness sees the raw text like any HTTP client.
      const res = await (req.body !== undefined ? test.send(req.body) : test).buffer(true).parse((r, cb) => {
        let data = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (data += c));
        r.on('end', () => cb(null, data));
      });
      const text = typeof res.body === 'string' ? res.body : '';
      return { status: res.status, headers: res.headers as Record<string, string>, text, body: parse(text) };
    }
    const res = await fetch(this.target.baseUrl + req.path, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      redirect: 'manual',
    });
    const text = await res.text();
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    return { status: res.status, headers, text, body: parse(text) };
  }
}
