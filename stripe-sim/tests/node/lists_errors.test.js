// Pagination with stripe-node's auto-pagination, and Stripe-style errors for bad input.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Platform, Stripe, client, newKey, rejection } from './helpers.js';

const { StripeAuthenticationError, StripeInvalidRequestError, StripePermissionError } = Stripe.errors;

test('auto-pagination walks every object newest first', async () => {
  const p = new Platform();
  const created = [];
  for (let i = 0; i < 23; i++) {
    created.push((await p.stripe.customers.create({ email: `c${i}@example.com` })).id);
  }
  const newestFirst = [...created].reverse();

  const firstPage = await p.stripe.customers.list({ limit: 10 });
  assert.equal(firstPage.object, 'list');
  assert.equal(firstPage.url, '/v1/customers');
  assert.equal(firstPage.has_more, true);
  assert.deepEqual(firstPage.data.map((c) => c.id), newestFirst.slice(0, 10));

  const seen = [];
  for await (const cus of p.stripe.customers.list({ limit: 10 })) {
    seen.push(cus.id);
  }
  assert.deepEqual(seen, newestFirst);

  const all = await p.stripe.customers.list({ limit: 7 }).autoPagingToArray({ limit: 100 });
  assert.deepEqual(all.map((c) => c.id), newestFirst);
  const capped = await p.stripe.customers.list({ limit: 4 }).autoPagingToArray({ limit: 9 });
  assert.deepEqual(capped.map((c) => c.id), newestFirst.slice(0, 9));

  const after = await p.stripe.customers.list({ limit: 5, starting_after: created[10] });
  assert.deepEqual(after.data.map((c) => c.id), created.slice(5, 10).reverse());
  // Paging backwards from ending_before also reaches the newest object.
  const backwards = [];
  for await (const cus of p.stripe.customers.list({ limit: 3, ending_before: created[10] })) {
    backwards.push(cus.id);
  }
  assert.deepEqual(backwards.sort(), created.slice(11).sort());
  const last = await p.stripe.customers.list({ limit: 100 });
  assert.equal(last.data.length, 23);
  assert.equal(last.has_more, false);
});

test('auto-pagination on a connected account with a filter', async () => {
  const p = new Platform();
  const acct = await p.onboardedAccount();
  const on = { stripeAccount: acct };
  const cus = await p.stripe.customers.create({}, on);
  const other = await p.stripe.customers.create({}, on);
  const mine = [];
  for (let i = 0; i < 5; i++) {
    mine.push((await p.charge(acct, { amount: 1000 + i, fee: 10, customer: cus.id })).id);
  }
  await p.charge(acct, { amount: 999, fee: 10, customer: other.id });
  const listed = await p.stripe.paymentIntents
    .list({ customer: cus.id, limit: 2 }, on)
    .autoPagingToArray({ limit: 50 });
  assert.deepEqual(listed.map((pi) => pi.id), mine.reverse());
  assert.ok(listed.every((pi) => pi.customer === cus.id));
});

test('a missing parameter is a StripeInvalidRequestError naming the param', async () => {
  const p = new Platform();
  const err = await rejection(p.stripe.paymentIntents.create({ currency: 'usd' }), StripeInvalidRequestError);
  assert.equal(err.type, 'StripeInvalidRequestError');
  assert.equal(err.rawType, 'invalid_request_error');
  assert.equal(err.statusCode, 400);
  assert.equal(err.param, 'amount');
  assert.equal(err.code, 'parameter_missing');
  assert.match(err.requestId, /^req_/);
});

test('unknown and ill-typed parameters are StripeInvalidRequestErrors naming the param', async () => {
  const p = new Platform();
  const unknown = await rejection(
    p.stripe.customers.create({ favourite_colour: 'teal' }),
    StripeInvalidRequestError,
  );
  assert.equal(unknown.param, 'favourite_colour');
  assert.equal(unknown.code, 'parameter_unknown');
  for (const [params, param] of [
    [{ amount: 'twelve', currency: 'usd' }, 'amount'],
    [{ amount: 1000, currency: 'usd', capture_method: 'sometimes' }, 'capture_method'],
    [{ amount: -5, currency: 'usd' }, 'amount'],
  ]) {
    const err = await rejection(p.stripe.paymentIntents.create(params), StripeInvalidRequestError);
    assert.equal(err.statusCode, 400, JSON.stringify(params));
    assert.equal(err.param, param, JSON.stringify(params));
  }
  const tooMany = await rejection(
    p.stripe.customers.create({ metadata: Object.fromEntries([...Array(51).keys()].map((i) => [`k${i}`, 'v'])) }),
    StripeInvalidRequestError,
  );
  assert.ok(tooMany.param.startsWith('metadata'), tooMany.param);
});

test('unknown ids, foreign accounts and bad keys map to stripe-node error classes', async () => {
  const p = new Platform();
  const missing = await rejection(p.stripe.customers.retrieve('cus_doesnotexist'), StripeInvalidRequestError);
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.code, 'resource_missing');

  const acct = await p.onboardedAccount();
  const stranger = client(newKey());
  const forbidden = await rejection(stranger.customers.create({}, { stripeAccount: acct }), StripePermissionError);
  assert.equal(forbidden.statusCode, 403);

  const bad = await rejection(client('sk_live_not_a_test_key').customers.list(), StripeAuthenticationError);
  assert.equal(bad.statusCode, 401);
});
