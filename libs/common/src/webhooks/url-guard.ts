import { Errors } from '../errors.js';
import { lookup as lookupCallback, type LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP, isIPv4, isIPv6, type LookupFunction } from 'node:net';

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Resolves a hostname to every address it has; swappable so callers can test without DNS. */
export type Resolver = (hostname: string) => Promise<string[]>;

export const systemResolver: Resolver = async (hostname) => (await lookup(hostname, { all: true })).map((a) => a.address);

/** [network, prefix length] of IPv4 ranges that are not the public internet (IANA special-purpose registry). */
const PRIVATE_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network", 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, where cloud metadata endpoints live
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes 255.255.255.255
];

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

const PRIVATE_V4_RANGES = PRIVATE_V4.map(([net, bits]) => {
  const size = 2 ** (32 - bits);
  const start = v4ToInt(net);
  return [start, start + size - 1] as const;
});

function isPrivateV4Int(n: number): boolean {
  return PRIVATE_V4_RANGES.some(([lo, hi]) => n >= lo && n <= hi);
}

/** The eight 16-bit groups of a valid IPv6 address, or null. */
function ipv6Groups(input: string): number[] | null {
  const ip = input.split('%')[0]; // a zone id only matters to link-local addresses, which are refused anyway
  if (!isIPv6(ip)) return null;
  let text = ip;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const n = v4ToInt(tail);
    text = `${text.slice(0, lastColon + 1)}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = rest === undefined ? [] : rest ? rest.split(':') : [];
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(fill).fill('0'), ...right].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/**
 * Whether an IP address is anything but a public unicast address: private,
 * loopback, link-local, unique-local, unspecified, multicast, CGNAT,
 * reserved, or an IPv6 form that embeds one of those (IPv4-mapped, NAT64, 6to4).
 * Anything that does not parse counts as private: the guard fails closed.
 */
export function isPrivateAddress(ip: string): boolean {
  if (isIPv4(ip)) return isPrivateV4Int(v4ToInt(ip));
  const g = ipv6Groups(ip);
  if (!g) return true;
  const embeddedV4 = (hi: number, lo: number) => isPrivateV4Int(hi * 65536 + lo);
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d reaches the IPv4 address a.b.c.d through a dual-stack socket.
  if (zeros(0, 5) && g[5] === 0xffff) return embeddedV4(g[6], g[7]);
  // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d.
  if (zeros(0, 6)) return true;
  // NAT64 (64:ff9b::/96) translates to the embedded IPv4 address.
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return embeddedV4(g[6], g[7]);
  // 6to4 (2002::/16) embeds an IPv4 address in bits 16-47.
  if (g[0] === 0x2002) return embeddedV4(g[1], g[2]);
  // Teredo and documentation prefixes.
  if ((g[0] === 0x2001 && g[1] === 0) || (g[0] === 0x2001 && g[1] === 0xdb8)) return true;
  // Global unicast is only ever allocated from 2000::/3; everything else
  // (fc00::/7 unique-local, fe80::/10 link-local, ff00::/8 multicast, ...) is not the internet.
  return (g[0] & 0xe000) !== 0x2000;
}

export type WebhookUrlCheck =
  | { ok: true; url: URL }
  /** `retryable`: the refusal may not hold later (DNS did not answer), as opposed to a URL that is wrong or points inward. */
  | { ok: false; reason: string; retryable: boolean };

/** Hostname without IPv6 brackets or a trailing root dot. */
function bareHost(url: URL): string {
  const h = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

const PRIVATE_REASON = 'webhook_url must not resolve to a private, loopback, link-local or otherwise non-public address';

/** {@link assertWebhookUrlAllowed} as a result rather than an exception, for the delivery worker. */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean, resolve: Resolver = systemResolver): Promise<WebhookUrlCheck> {
  const refuse = (reason: string, retryable = false): WebhookUrlCheck => ({ ok: false, reason, retryable });
  if (typeof raw !== 'string' || raw.length === 0) return refuse('webhook_url must be a non-empty string');
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return refuse(`webhook_url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('webhook_url must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return refuse('webhook_url must use http or https');
  if (url.username || url.password) return refuse('webhook_url must not contain credentials');
  const host = bareHost(url);
  if (!host) return refuse('webhook_url must have a host');
  if (allowPrivate) return { ok: true, url };
  // The WHATWG parser has already normalised odd IPv4 spellings (2130706433, 0x7f.1) to dotted quads.
  if (isIP(host)) return isPrivateAddress(host) ? refuse(PRIVATE_REASON) : { ok: true, url };
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return refuse('webhook_url host could not be resolved', true);
  }
  if (addresses.length === 0) return refuse('webhook_url host could not be resolved', true);
  // One inward address is enough to refuse: the connection may pick any of them.
  if (addresses.some(isPrivateAddress)) return refuse(PRIVATE_REASON);
  return { ok: true, url };
}

/**
 * Refuses a webhook URL the service must not call: not http(s), with
 * credentials, too long, or with a host that resolves to any non-public
 * address (unless `allowPrivate`). Throws a validation DomainError on `field` (`webhook_url` unless told).
 * The resolved address is not echoed back, so the check cannot be used to map internal DNS.
 */
export async function assertWebhookUrlAllowed(
  url: string,
  allowPrivate: boolean,
  resolve: Resolver = systemResolver,
  field = 'webhook_url',
): Promise<void> {
  const r = await checkWebhookUrl(url, allowPrivate, resolve);
  if (r.ok) return;
  // The reasons name webhook_url; another route's field (a webhook endpoint's url) is named instead.
  const reason = field === 'webhook_url' ? r.reason : r.reason.replace(/^webhook_url/, field);
  throw Errors.validation(reason, [{ field, message: reason }]);
}

/** Raised by {@link guardedLookup} when a connection would go to a non-public address. */
export class WebhookAddressRefusedError extends Error {
  readonly code = 'EWEBHOOKADDR';
  constructor(readonly hostname: string) {
    super(`refused to connect: ${hostname} resolves to a non-public address`);
  }
}

/**
 * A `lookup` for http(s).request that refuses non-public addresses at connect
 * time. Checking the URL first is not enough: DNS can answer differently
 * between the check and the connection (DNS rebinding), so the addresses the
 * socket actually uses are checked here.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  lookupCallback(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 4);
    if (addresses.length === 0 || addresses.some((a) => isPrivateAddress(a.address))) {
      return callback(new WebhookAddressRefusedError(hostname), '', 4);
    }
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
};
