import { DomainError } from '../errors.js';
import { describe, expect, it } from '@jest/globals';
import { assertWebhookUrlAllowed, checkWebhookUrl, isPrivateAddress, type Resolver } from './url-guard.js';

const fixed =
  (...addresses: string[]): Resolver =>
  () =>
    Promise.resolve(addresses);
const failing: Resolver = () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));

async function refusal(url: string, allowPrivate = false, resolve?: Resolver): Promise<DomainError> {
  try {
    await assertWebhookUrlAllowed(url, allowPrivate, resolve);
  } catch (e) {
    return e as DomainError;
  }
  throw new Error(`${url} was allowed`);
}

describe('isPrivateAddress', () => {
  it.each([
    '10.0.0.1',
    '10.255.255.255',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '127.0.0.1',
    '127.1.2.3',
    '169.254.169.254',
    '100.64.0.1',
    '100.127.255.255',
    '0.0.0.0',
    '0.1.2.3',
    '224.0.0.1',
    '239.255.255.250',
    '255.255.255.255',
    '240.0.0.1',
    '198.18.0.1',
    '::1',
    '::',
    '0:0:0:0:0:0:0:1',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.1.2.3',
    '::ffff:169.254.169.254',
    '::127.0.0.1',
    '64:ff9b::a00:1',
    '2002:7f00:1::',
    '2001:db8::1',
  ])('%s is private', (ip) => {
    expect(isPrivateAddress(ip)).toBe(true);
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '172.15.255.255',
    '172.32.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '169.253.0.1',
    '192.169.0.1',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '::ffff:93.184.216.34',
    '::ffff:5db8:d822',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('%s is public', (ip) => {
    expect(isPrivateAddress(ip)).toBe(false);
  });

  it.each(['', 'localhost', '1.2.3', '256.1.1.1', '::g', 'example.com'])('%j does not parse and counts as private', (ip) => {
    expect(isPrivateAddress(ip)).toBe(true);
  });
});

describe('assertWebhookUrlAllowed', () => {
  it('passes a public IP literal without resolving anything', async () => {
    await expect(assertWebhookUrlAllowed('https://93.184.216.34/hook', false, failing)).resolves.toBeUndefined();
    await expect(assertWebhookUrlAllowed('http://[2606:4700:4700::1111]:8080/x', false, failing)).resolves.toBeUndefined();
  });

  it.each([
    ['http://127.0.0.1:1/x', 'private'],
    ['http://[::1]/', 'private'],
    ['http://[::ffff:127.0.0.1]/', 'private'],
    ['http://2130706433/', 'private'],
    ['http://0x7f.1/', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'private'],
    ['ftp://example.com/', 'http or https'],
    ['file:///etc/passwd', 'http or https'],
    ['javascript:alert(1)', 'http or https'],
    ['https://user:pass@93.184.216.34/', 'credentials'],
    ['https://user@93.184.216.34/', 'credentials'],
    ['not a url', 'absolute'],
    ['', 'non-empty'],
    [`https://93.184.216.34/${'a'.repeat(2048)}`, '2048'],
  ])('refuses %s', async (url, why) => {
    const e = await refusal(url);
    expect(e).toBeInstanceOf(DomainError);
    expect(e.code).toBe('validation_error');
    expect(e.status).toBe(400);
    expect(e.errors).toEqual([{ field: 'webhook_url', message: expect.stringContaining(why) }]);
  });

  it('names another field when told, in the message too', async () => {
    try {
      await assertWebhookUrlAllowed('http://127.0.0.1/x', false, failing, 'url');
      throw new Error('allowed');
    } catch (e) {
      expect((e as DomainError).errors).toEqual([{ field: 'url', message: expect.stringMatching(/^url must not resolve/) }]);
    }
  });

  it('refuses a hostname when any of its addresses is private', async () => {
    const e = await refusal('https://hooks.example.com/x', false, fixed('93.184.216.34', '10.0.0.5'));
    expect(e.errors?.[0].field).toBe('webhook_url');
    expect(e.detail).not.toContain('10.0.0.5');
    await expect(assertWebhookUrlAllowed('https://hooks.example.com/x', false, fixed('93.184.216.34'))).resolves.toBeUndefined();
  });

  it('refuses localhost through the system resolver', async () => {
    expect((await refusal('http://localhost:3000/hook')).code).toBe('validation_error');
  });

  it('refuses a host that does not resolve, and marks that retryable for the worker', async () => {
    expect((await refusal('https://nowhere.invalid/', false, failing)).detail).toContain('could not be resolved');
    expect(await checkWebhookUrl('https://nowhere.invalid/', false, failing)).toEqual({
      ok: false,
      reason: expect.stringContaining('resolved'),
      retryable: true,
    });
    expect(await checkWebhookUrl('http://10.0.0.1/', false)).toMatchObject({ ok: false, retryable: false });
  });

  it('with allowPrivate, lets inward addresses through but still checks the URL itself', async () => {
    await expect(assertWebhookUrlAllowed('http://127.0.0.1:1/x', true)).resolves.toBeUndefined();
    await expect(assertWebhookUrlAllowed('http://[::1]/', true)).resolves.toBeUndefined();
    await expect(assertWebhookUrlAllowed('http://internal.invalid/', true, failing)).resolves.toBeUndefined();
    expect((await refusal('ftp://127.0.0.1/', true)).code).toBe('validation_error');
    expect((await refusal('http://u:p@127.0.0.1/', true)).code).toBe('validation_error');
  });
});
