import { checkWebhookUrl, DomainError, Errors, guardedLookup } from '@app/common';
import http from 'node:http';
import https from 'node:https';
import { MAX_INPUT_IMAGE_BYTES } from './variants.js';

/** An input image of an edit, read and checked before anything is reserved. */
export interface InputImage {
  data: Buffer;
  mediaType: 'image/png' | 'image/jpeg' | 'image/webp';
}

/** How long fetching one input image by URL may take. */
const FETCH_TIMEOUT_MS = 10_000;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URL = /^data:(image\/(?:png|jpeg|webp));base64,/;
const MIB = MAX_INPUT_IMAGE_BYTES / (1024 * 1024);

const bad = (field: string, message: string) => Errors.validation(`${field} ${message}`, [{ field, message: `${field} ${message}` }]);
const tooLarge = (field: string) =>
  new DomainError(
    413,
    'input_image_too_large',
    'Input image too large',
    `${field} is over ${MIB} MiB; an input image may be at most ${MIB} MiB`,
  );

/** The media type of an image from its first bytes (PNG, JPEG, WebP), or null. */
export function sniffImage(data: Buffer): InputImage['mediaType'] | null {
  if (data.length >= 8 && data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  if (data.length >= 12 && data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return null;
}

function checked(field: string, data: Buffer): InputImage {
  if (data.length === 0) throw bad(field, 'is empty');
  if (data.length > MAX_INPUT_IMAGE_BYTES) throw tooLarge(field);
  const mediaType = sniffImage(data);
  if (!mediaType) throw bad(field, 'is not a PNG, JPEG or WebP image');
  return { data, mediaType };
}

/** Base64 (optionally as a `data:image/...;base64,` URL), decoded strictly: no whitespace, no other alphabet. */
export function decodeBase64Image(field: string, text: string): InputImage {
  const body = text.replace(DATA_URL, '');
  if (body.length % 4 !== 0 || !BASE64.test(body)) throw bad(field, 'must be base64 (RFC 4648, with padding)');
  // Checked on the encoded length first, so a huge string is refused before it is decoded.
  if ((body.length / 4) * 3 - (body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0) > MAX_INPUT_IMAGE_BYTES) throw tooLarge(field);
  return checked(field, Buffer.from(body, 'base64'));
}

/**
 * GETs an input image: http(s) only, no redirects, at most MAX_INPUT_IMAGE_BYTES,
 * within FETCH_TIMEOUT_MS. Unless `allowPrivate`, a private, loopback or
 * link-local address is refused, at the URL check and again at connect time
 * (the address the socket uses), as for webhooks.
 */
export async function fetchImage(field: string, raw: string, allowPrivate: boolean): Promise<InputImage> {
  const check = await checkWebhookUrl(raw, allowPrivate);
  if (!check.ok) throw bad(field, check.reason.replace(/^webhook_url /, ''));
  const url = check.url;
  const data = await new Promise<Buffer>((resolve, reject) => {
    const request = url.protocol === 'https:' ? https.request : http.request;
    const req = request(
      url,
      {
        method: 'GET',
        headers: { accept: 'image/png, image/jpeg, image/webp' },
        agent: false,
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        ...(allowPrivate ? {} : { lookup: guardedLookup }),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          res.destroy();
          return reject(bad(field, `could not be fetched: the server answered ${status}`));
        }
        if (Number(res.headers['content-length'] ?? 0) > MAX_INPUT_IMAGE_BYTES) {
          res.destroy();
          return reject(tooLarge(field));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_INPUT_IMAGE_BYTES) {
            res.destroy();
            reject(tooLarge(field));
          } else chunks.push(chunk);
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', () => reject(bad(field, 'could not be fetched: the connection broke off')));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.name === 'TimeoutError' || e.name === 'AbortError'
          ? bad(field, `could not be fetched within ${FETCH_TIMEOUT_MS / 1000} s`)
          : e.code === 'EWEBHOOKADDR'
            ? bad(field, 'must not resolve to a private, loopback or link-local address')
            : bad(field, `could not be fetched (${e.code ?? e.message})`),
      ),
    );
    req.end();
  });
  return checked(field, data);
}
