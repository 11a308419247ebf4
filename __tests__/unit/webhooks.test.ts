// Webhook signing checked by the reference verifiers receivers use (standardwebhooks and
// @octokit/webhooks-methods), and the delivery rules: which answers are retried, Retry-After,
// which URLs are accepted.
import { Webhook } from 'standardwebhooks';
import { verify as verifyGitHub } from '@octokit/webhooks-methods';
import {
  isAllowedWebhookUrl,
  isRetryableDelivery,
  parseRetryAfter,
  shouldSend,
  signWebhook,
  webhookHeaders,
  WebhookRejected,
} from '../../src/common/webhooks.js';

const body = JSON.stringify({ service: 'hello', status: 'success', healthy: true });

describe('signatures', () => {
  it.each([
    ['a whsec_ secret', `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`],
    ['a plain secret', 'correct horse battery staple'],
  ])('verify with both reference verifiers, for %s', async (_label, secret) => {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = webhookHeaders({ secret, token: undefined }, 'msg_1', timestamp, body);
    const key = secret.startsWith('whsec_') ? secret : Buffer.from(secret).toString('base64');
    expect(new Webhook(key).verify(body, headers)).toEqual(JSON.parse(body));
    expect(await verifyGitHub(secret, body, headers['x-hub-signature-256']!)).toBe(true);
    expect(await verifyGitHub(secret, `${body} `, headers['x-hub-signature-256']!)).toBe(false);
    expect(() => new Webhook(key).verify(`${body} `, headers)).toThrow();
  });

  it('signs id.timestamp.body, so a changed id or timestamp no longer verifies', () => {
    const a = signWebhook('s3cret', 'msg_1', 1700000000, body);
    expect(signWebhook('s3cret', 'msg_2', 1700000000, body).standard).not.toBe(a.standard);
    expect(signWebhook('s3cret', 'msg_1', 1700000001, body).standard).not.toBe(a.standard);
    expect(signWebhook('s3cret', 'msg_2', 1700000001, body).github).toBe(a.github);
    expect(a.standard).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(a.github).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('sends no signature without a secret, and the token as a bearer', () => {
    const headers = webhookHeaders({ secret: undefined, token: 'tok' }, 'msg_1', 1, body);
    expect(headers['webhook-signature']).toBeUndefined();
    expect(headers['x-hub-signature-256']).toBeUndefined();
    expect(headers.authorization).toBe('Bearer tok');
  });
});

describe('delivery rules', () => {
  it('retries timeouts, network errors, 5xx, 408, 409 and 429, and no other 4xx', () => {
    for (const status of [500, 502, 503, 408, 409, 429])
      expect(isRetryableDelivery(new WebhookRejected(status, undefined))).toBe(true);
    for (const status of [400, 401, 403, 404, 410, 422])
      expect(isRetryableDelivery(new WebhookRejected(status, undefined))).toBe(false);
    expect(isRetryableDelivery(new DOMException('t', 'TimeoutError'))).toBe(true);
    expect(isRetryableDelivery(new TypeError('fetch failed'))).toBe(true);
  });
  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
  it('accepts https, and http only on loopback; never credentials in the URL', () => {
    expect(isAllowedWebhookUrl('https://hooks.example.com/deploy?x=1')).toBe(true);
    expect(isAllowedWebhookUrl('http://127.0.0.1:8080/hook')).toBe(true);
    expect(isAllowedWebhookUrl('http://localhost/hook')).toBe(true);
    expect(isAllowedWebhookUrl('http://hooks.example.com/deploy')).toBe(false);
    expect(isAllowedWebhookUrl('https://user:pass@hooks.example.com/')).toBe(false);
    expect(isAllowedWebhookUrl('ftp://x')).toBe(false);
    expect(isAllowedWebhookUrl('not a url')).toBe(false);
  });
  it('sends on success, on failure, or always, as asked', () => {
    expect([shouldSend('success', true), shouldSend('success', false)]).toEqual([true, false]);
    expect([shouldSend('failure', true), shouldSend('failure', false)]).toEqual([false, true]);
    expect([shouldSend('always', true), shouldSend('always', false)]).toEqual([true, true]);
  });
});
