// Checkout Sessions in setup mode through stripe-node: create for a customer, the hosted card
// page filled like a browser without JavaScript, retrieve with the SetupIntent expanded, list
// and expire.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Platform, Stripe, formsOf, rejection, submit } from './helpers.js';

const { StripeInvalidRequestError } = Stripe.errors;
const SUCCESS = 'https://shop.example/cards/saved?session_id={CHECKOUT_SESSION_ID}';

async function session(p, options = {}) {
  const cus = await p.stripe.customers.create({ email: 'buyer@example.com' }, options);
  const cs = await p.stripe.checkout.sessions.create(
    {
      mode: 'setup',
      customer: cus.id,
      currency: 'usd',
      success_url: SUCCESS,
      cancel_url: 'https://shop.example/cards',
      metadata: { buyer: '7' },
    },
    options,
  );
  return { cus, cs };
}

async function fill(url, number) {
  const page = await fetch(url, { redirect: 'manual' });
  assert.equal(page.status, 200);
  const [form] = formsOf(url, await page.text());
  const values = { number, expiry: '12/34', cvc: '123', name: 'Jenny Rosen' };
  form.fields = form.fields.map(([k, v]) => [k, values[k] ?? v]);
  return submit(form);
}

test('a setup session saves the card entered on its hosted page', async () => {
  const p = new Platform();
  const { cus, cs } = await session(p);
  assert.equal(cs.object, 'checkout.session');
  assert.equal(cs.mode, 'setup');
  assert.equal(cs.status, 'open');
  assert.equal(cs.setup_intent, null);

  const done = await fill(cs.url, '4242 4242 4242 4242');
  assert.equal(done.status, 303);
  assert.equal(done.headers.get('location'), SUCCESS.replace('{CHECKOUT_SESSION_ID}', cs.id));

  const got = await p.stripe.checkout.sessions.retrieve(cs.id, {
    expand: ['setup_intent.payment_method'],
  });
  assert.equal(got.status, 'complete');
  assert.equal(got.setup_intent.status, 'succeeded');
  assert.equal(got.setup_intent.payment_method.card.last4, '4242');
  assert.equal(got.setup_intent.payment_method.customer, cus.id);
  const list = await p.stripe.checkout.sessions.list({ customer: cus.id });
  assert.deepEqual(list.data.map((s) => s.id), [cs.id]);
});

test('a bad card number is refused on the page', async () => {
  const p = new Platform();
  const { cs } = await session(p);
  const page = await fill(cs.url, '4242 4242 4242 4241');
  assert.equal(page.status, 422);
  const html = await page.text();
  assert.match(html, /Your card number is invalid\./);
  assert.match(html, /value="4242 4242 4242 4241"/);
  assert.equal((await p.stripe.checkout.sessions.retrieve(cs.id)).status, 'open');
});

test('expire on a connected account', async () => {
  const p = new Platform();
  const acct = await p.onboardedAccount();
  const { cs } = await session(p, { stripeAccount: acct });
  const expired = await p.stripe.checkout.sessions.expire(cs.id, {}, { stripeAccount: acct });
  assert.equal(expired.status, 'expired');
  assert.equal(expired.url, null);
  const again = await rejection(
    p.stripe.checkout.sessions.expire(cs.id, {}, { stripeAccount: acct }),
    StripeInvalidRequestError,
  );
  assert.equal(again.statusCode, 400);
  const hidden = await rejection(p.stripe.checkout.sessions.retrieve(cs.id), StripeInvalidRequestError);
  assert.equal(hidden.statusCode, 404);
  const page = await fetch(cs.url);
  assert.match(await page.text(), /This link has expired/);
});
