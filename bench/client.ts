/**
 * A small keep-alive HTTP client for the mock on 127.0.0.1: logs a persona in, finds its ids through the
 * API, and replays the persona's read flow to warm the mock up.
 */
import { Agent, request } from 'node:http';
import personas from '../fixtures/personas.json';

/** The development subscription key and OAuth2 client of `fixtures/personas.json`. */
export const SUBSCRIPTION_KEY = personas.subscriptionKey;

/** One answered request. */
export interface Reply {
  status: number;
  body: string;
}

/** The ids of a persona's first premise, its electricity service point and that point's ESME. */
export interface PersonaIds {
  premiseId: string;
  servicePointId: string;
  deviceId: string;
}

/** A logged-in persona: its bearer token and ids. */
export interface Session extends PersonaIds {
  accessToken: string;
}

/** Calls one server on 127.0.0.1 over a few keep-alive connections. */
export class MockClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });

  /** @param port the server's TCP port. */
  constructor(readonly port: number) {}

  /** Sends one request; the body is sent as given (set its Content-Type in `headers`). */
  send(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          path,
          method,
          agent: this.agent,
          timeout: 10_000,
          headers: {
            ...headers,
            ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.once('error', reject);
        },
      );
      req.once('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.once('error', reject);
      req.end(body);
    });
  }

  /** `GET` with the persona's bearer token and the subscription key; the parsed JSON of a 200. */
  async getJson<T>(path: string, accessToken: string): Promise<T> {
    const reply = await this.send('GET', path, apiHeaders(accessToken));
    if (reply.status !== 200) throw new Error(`GET ${path}: ${reply.status} ${reply.body.slice(0, 500)}`);
    return JSON.parse(reply.body) as T;
  }

  /**
   * Logs a persona without two-step authentication in (password grant), then finds its ids:
   * ListPremises -> ListServicePoints (electricity) -> ListDevices (the ESME).
   */
  async login(personaId: string): Promise<Session> {
    const persona = personas.personas.find((p) => p.id === personaId);
    if (!persona) throw new Error(`no persona ${personaId} in fixtures/personas.json`);
    const form = new URLSearchParams({
      grant_type: 'password',
      username: persona.username,
      password: persona.password,
    }).toString();
    const basic = Buffer.from(`${personas.clientId}:${personas.clientSecret}`).toString('base64');
    const reply = await this.send(
      'POST',
      '/api/identity/auth/TokenRequest',
      {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${basic}`,
        'ocp-apim-subscription-key': SUBSCRIPTION_KEY,
      },
      form,
    );
    if (reply.status !== 200) throw new Error(`login of ${personaId}: ${reply.status} ${reply.body}`);
    const token = JSON.parse(reply.body) as { access_token: string; scope: string };
    if (token.scope !== 'customer') {
      throw new Error(
        `login of ${personaId} gave scope "${token.scope}"; the bench needs a persona without 2FA`,
      );
    }
    const accessToken = token.access_token;
    const premises = await this.getJson<Page<{ premiseId: string }>>('/api/energy/premises', accessToken);
    const premiseId = premises.items[0]?.premiseId;
    if (!premiseId) throw new Error(`${personaId} has no premise`);
    const points = await this.getJson<Page<{ servicePointId: string; fuelType: string }>>(
      `/api/energy/premises/${premiseId}/servicepoints`,
      accessToken,
    );
    const servicePointId = points.items.find((p) => p.fuelType === 'ELECTRICITY')?.servicePointId;
    if (!servicePointId) throw new Error(`${personaId}'s premise ${premiseId} has no electricity point`);
    const devices = await this.getJson<Page<{ deviceId: string; deviceType: string }>>(
      `/api/energy/servicepoints/${servicePointId}/devices`,
      accessToken,
    );
    const deviceId = devices.items.find((d) => d.deviceType === 'ESME')?.deviceId;
    if (!deviceId) throw new Error(`${personaId}'s service point ${servicePointId} has no ESME`);
    return { accessToken, premiseId, servicePointId, deviceId };
  }

  /**
   * Replays the persona's read flow (customer, premises, features, service points, devices, balance,
   * payments) `requests` times over `concurrency` connections.
   * @throws if any reply is not a 200.
   */
  async warmUp(session: Session, requests: number, concurrency = 8): Promise<void> {
    const { premiseId, servicePointId, deviceId } = session;
    const paths = [
      '/api/identity/customers/me',
      '/api/energy/premises',
      `/api/energy/premises/${premiseId}`,
      `/api/energy/premises/${premiseId}/features`,
      `/api/energy/premises/${premiseId}/servicepoints`,
      `/api/energy/premises/${premiseId}/servicepoints/${servicePointId}`,
      `/api/energy/servicepoints/${servicePointId}/devices`,
      `/api/energy/devices/${deviceId}`,
      `/api/energy/devices/${deviceId}/balance`,
      '/api/energy/payments',
    ];
    const headers = apiHeaders(session.accessToken);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < requests) {
        const path = paths[next++ % paths.length] as string;
        const reply = await this.send('GET', path, headers);
        if (reply.status !== 200) {
          throw new Error(`warm-up GET ${path}: ${reply.status} ${reply.body.slice(0, 500)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  /** Closes the keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}

/** A page of a list operation. */
interface Page<T> {
  items: T[];
}

/** The headers of an API call: bearer token, subscription key, JSON. */
export function apiHeaders(accessToken: string): Record<string, string> {
  return {
    authorization: `Bearer ${accessToken}`,
    'ocp-apim-subscription-key': SUBSCRIPTION_KEY,
    accept: 'application/json',
  };
}
