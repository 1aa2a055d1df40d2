// Shared helpers for the stripe-node conformance suite.
//
// The emulator is started by run.sh (or by anyone else); this file only reads its address from
// STRIPE_SIM_URL. Every test makes its own secret key, and each secret key is its own platform in
// the emulator, so tests never see each other's objects.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';

import Stripe from 'stripe';

export { Stripe };

export const SIM_URL = (() => {
  const url = process.env.STRIPE_SIM_URL;
  if (!url) {
    throw new Error('STRIPE_SIM_URL is not set: start stripe-sim and export its base URL');
  }
  return url.replace(/\/+$/, '');
})();

/** A stripe-node client for `apiKey`, pointed at the emulator with the constructor's own options. */
export function client(apiKey) {
  const url = new URL(SIM_URL);
  return new Stripe(apiKey, {
    host: url.hostname,
    port: url.port || (url.protocol === 'https:' ? 443 : 80),
    protocol: url.protocol.replace(':', ''),
    // A retry would hide the first response and add its own idempotency key.
    maxNetworkRetries: 0,
    telemetry: false,
  });
}

/** Asserts that `promise` rejects with an instance of `cls` (a stripe-node error class); returns the error. */
export async function rejection(promise, cls) {
  let caught;
  await assert.rejects(promise, (err) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught?.type}: ${caught?.message}`);
  return caught;
}

export function newKey() {
  return 'sk_test_node_' + randomUUID().replaceAll('-', '');
}

/** Form-encodes a flat object, or a list of [name, value] pairs, like a browser or `curl -d`. */
function formBody(data) {
  const params = new URLSearchParams();
  const pairs = Array.isArray(data) ? data : Object.entries(data);
  for (const [k, v] of pairs) {
    params.append(k, String(v));
  }
  return params;
}

/** One platform (secret key) with helpers for the emulator-only endpoints. */
export class Platform {
  constructor() {
    this.apiKey = newKey();
    this.stripe = client(this.apiKey);
  }

  /** A plain HTTP request with the platform's key; redirects are not followed. */
  async raw(method, path, { data, account } = {}) {
    const headers = { Authorization: 'Bearer ' + this.apiKey };
    if (account) {
      headers['Stripe-Account'] = account;
    }
    const init = { method, headers, redirect: 'manual' };
    if (data) {
      init.body = formBody(data);
    }
    return fetch(SIM_URL + path, init);
  }

  account(params = {}) {
    return this.stripe.accounts.create({ type: 'express', country: 'US', ...params });
  }

  /** A new express account, onboarded through the emulator's test helper; returns its id. */
  async onboardedAccount(params = {}) {
    const acct = await this.account(params);
    const resp = await this.raw('POST', `/v1/test_helpers/accounts/${acct.id}/onboard`);
    if (resp.status !== 200) {
      throw new Error(`onboard helper answered ${resp.status}: ${await resp.text()}`);
    }
    return acct.id;
  }

  /** A confirmed direct charge on `account` with an application fee. */
  charge(account, { amount = 1000, fee = 100, pm = 'pm_card_visa', ...params } = {}, options = {}) {
    return this.stripe.paymentIntents.create(
      {
        amount,
        currency: 'usd',
        payment_method_types: ['card'],
        application_fee_amount: fee,
        payment_method: pm,
        confirm: true,
        ...params,
      },
      { stripeAccount: account, ...options },
    );
  }
}

// ---- Hosted pages, read the way a browser without JavaScript would. ----

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

function decode(text) {
  return text.replace(/&(amp|lt|gt|quot|apos|#39);/g, (_, name) => ENTITIES[name]);
}

function attributes(tag) {
  const attrs = {};
  const re = /([a-zA-Z_:][-\w:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  let m;
  while ((m = re.exec(tag)) !== null) {
    attrs[m[1].toLowerCase()] = decode(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/**
 * The forms of a page: absolute action, method, the fields a submit sends, the name/value of its
 * (single) submit button and the lower-cased text of its buttons.
 */
export function formsOf(pageUrl, html) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi)) {
    const a = attributes(m[1]);
    const form = {
      action: new URL(a.action || pageUrl, pageUrl).toString(),
      method: (a.method || 'get').toLowerCase(),
      fields: [],
      button: null,
      text: '',
    };
    const inner = m[2];
    for (const el of inner.matchAll(/<(input|button|select|textarea)\b([^>]*)>(?:([\s\S]*?)<\/\1\s*>)?/gi)) {
      const tag = el[1].toLowerCase();
      const ea = attributes(el[2]);
      const kind = (ea.type || (tag === 'button' ? 'submit' : 'text')).toLowerCase();
      if (tag === 'button') {
        form.text += ' ' + decode((el[3] || '').replace(/<[^>]*>/g, ' ')) + ' ' + (ea.value || '');
      } else if (tag === 'input' && (kind === 'submit' || kind === 'button')) {
        form.text += ' ' + (ea.value || '');
      }
      if (!('name' in ea)) {
        continue;
      }
      if (kind === 'submit') {
        form.button ??= [ea.name, ea.value || ''];
      } else if (kind === 'checkbox' || kind === 'radio') {
        if ('checked' in ea) {
          form.fields.push([ea.name, ea.value || 'on']);
        }
      } else if (tag === 'textarea') {
        form.fields.push([ea.name, decode(el[3] || '')]);
      } else {
        form.fields.push([ea.name, ea.value || '']);
      }
    }
    form.text = form.text.replace(/\s+/g, ' ').trim().toLowerCase();
    forms.push(form);
  }
  return forms;
}

/** Submits a form without following the redirect it answers with. */
export function submit(form) {
  const data = [...form.fields];
  if (form.button) {
    data.push(form.button);
  }
  const body = formBody(data);
  if (form.method === 'get') {
    const url = new URL(form.action);
    url.search = body.toString();
    return fetch(url, { redirect: 'manual' });
  }
  return fetch(form.action, { method: form.method.toUpperCase(), body, redirect: 'manual' });
}

// ---- Webhook receiver. ----

/** A local HTTP server that records every POST (headers and raw body) and answers 200. */
export class Receiver {
  constructor() {
    this.deliveries = [];
    this.waiters = [];
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        this.deliveries.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { 'Content-Length': '0' });
        res.end();
        for (const wake of this.waiters.splice(0)) {
          wake();
        }
      });
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}/webhooks`;
    return this;
  }

  /** The first delivery of `eventType`; bounded so a lost delivery fails the test. */
  async waitFor(eventType, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.deliveries.find((d) => JSON.parse(d.body.toString('utf8')).type === eventType);
      if (found) {
        return found;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        const seen = this.deliveries.map((d) => JSON.parse(d.body.toString('utf8')).type);
        throw new Error(`no ${eventType} delivery within ${timeoutMs} ms; got ${JSON.stringify(seen)}`);
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }
}
