import http from 'node:http';

export interface HttpReply {
  status: number;
  text: string;
}

/** A minimal JSON client over one keep-alive agent (loopback only). */
export class HttpClient {
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
    maxSockets: number,
  ) {
    const u = new URL(baseUrl);
    if (u.hostname !== '127.0.0.1') throw new Error(`the benchmark only talks to 127.0.0.1, not ${u.hostname}`);
    this.host = u.hostname;
    this.port = Number(u.port);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(method: string, path: string, body?: unknown, idempotencyKey?: string): Promise<HttpReply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { authorization: `Bearer ${this.apiKey}`, accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    return new Promise((resolve, reject) => {
      const req = http.request({ host: this.host, port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export class HttpError extends Error {
  constructor(what: string, reply: HttpReply) {
    super(`${what}: HTTP ${reply.status} ${reply.text.slice(0, 200)}`);
  }
}
