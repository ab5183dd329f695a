import { parse } from 'node:url';

/**
 * The path of a request URL, without the query string, byte for byte what
 * Express 5 gave as `req.path` (parseurl): the idempotency fingerprint hashes
 * it, so a retry sent across the switch from Express to Fastify still replays.
 * No decoding, no normalisation. A URL that is not origin-form or that holds
 * a character parseurl leaves to Node's legacy parser goes the same way.
 */
export function requestPath(url: string): string {
  if (url.charCodeAt(0) !== 0x2f /* / */) return legacyPath(url);
  let path = url;
  // parseurl scans the whole URL, the query included, before it trusts the fast path.
  for (let i = 1; i < url.length; i++) {
    switch (url.charCodeAt(i)) {
      case 0x3f /* ? */:
        if (path === url) path = url.slice(0, i);
        break;
      case 0x09:
      case 0x0a:
      case 0x0c:
      case 0x0d:
      case 0x20:
      case 0x23 /* # */:
      case 0xa0:
      case 0xfeff:
        return legacyPath(url);
    }
  }
  return path;
}

function legacyPath(url: string): string {
  // parseurl's own fallback (Node's legacy parser), kept for identical output.
  return parse(url).pathname ?? '';
}
