import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!size) return Buffer.concat(parts);
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/**
 * One HTTP/1.1 request over a fresh socket, written byte for byte: header
 * values may hold any character (fetch and node:http refuse control
 * characters before sending), and a header may repeat. Header text is
 * written as latin1, the body as UTF-8 with its Content-Length.
 */
export function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  headers: [string, string][],
  body?: string,
  timeoutMs = 10_000,
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close', ...headers.map(([k, v]) => `${k}: ${v}`)];
  if (payload) lines.push(`Content-Length: ${payload.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const [statusLine, ...headerLines] = all.subarray(0, split).toString('latin1').split('\r\n');
      const got: Record<string, string> = {};
      for (const line of headerLines) {
        const i = line.indexOf(':');
        got[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      let rest: Buffer = all.subarray(split + 4);
      if (got['transfer-encoding'] === 'chunked') rest = dechunk(rest);
      resolve({ status: Number(statusLine.split(' ')[1]), headers: got, text: rest.toString('utf8') });
    });
    socket.write(payload ? Buffer.concat([head, payload]) : head);
  });
}
