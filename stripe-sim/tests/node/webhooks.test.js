// Signed webhook deliveries to a local server, verified with stripe-node's constructEvent.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Platform, Receiver, Stripe } from './helpers.js';

const { StripeSignatureVerificationError } = Stripe.errors;

/** A receiver of its own for one test, closed when the test ends. */
async function receiverFor(t) {
  const receiver = await new Receiver().start();
  t.after(() => receiver.close());
  return receiver;
}

test('a connect endpoint receives signed events that constructEvent verifies', async (t) => {
  const receiver = await receiverFor(t);
  const p = new Platform();
  const endpoint = await p.stripe.webhookEndpoints.create({
    url: receiver.url,
    enabled_events: ['payment_intent.succeeded', 'application_fee.created'],
    connect: true,
  });
  assert.equal(endpoint.object, 'webhook_endpoint');
  assert.equal(endpoint.status, 'enabled');
  assert.match(endpoint.secret, /^whsec_/);
  // The secret is returned only once.
  assert.equal((await p.stripe.webhookEndpoints.retrieve(endpoint.id)).secret, undefined);

  const acct = await p.onboardedAccount();
  const pi = await p.charge(acct, { amount: 2000, fee: 200, });

  const { headers, body } = await receiver.waitFor('payment_intent.succeeded');
  const signature = headers['stripe-signature'];
  assert.match(signature, /^t=\d+,v1=[0-9a-f]{64}/);
  const event = p.stripe.webhooks.constructEvent(body, signature, endpoint.secret);
  assert.equal(event.object, 'event');
  assert.equal(event.type, 'payment_intent.succeeded');
  assert.equal(event.account, acct);
  assert.equal(event.livemode, false);
  assert.equal(event.data.object.id, pi.id);
  assert.equal(event.data.object.status, 'succeeded');
  // The string form of the payload verifies too.
  assert.equal(p.stripe.webhooks.constructEvent(body.toString('utf8'), signature, endpoint.secret).id, event.id);
  assert.equal((await p.stripe.webhooks.constructEventAsync(body, signature, endpoint.secret)).id, event.id);

  const tampered = Buffer.from(body.toString('utf8').replace('"succeeded"', '"failed"'));
  assert.notDeepEqual(tampered, body);
  assert.throws(
    () => p.stripe.webhooks.constructEvent(tampered, signature, endpoint.secret),
    StripeSignatureVerificationError,
  );
  assert.throws(
    () => p.stripe.webhooks.constructEvent(body, signature, 'whsec_wrong'),
    StripeSignatureVerificationError,
  );

  // The delivered event is the one the API lists for the account.
  const listed = await p.stripe.events.retrieve(event.id, {}, { stripeAccount: acct });
  assert.equal(listed.type, 'payment_intent.succeeded');
  assert.equal(listed.data.object.id, pi.id);
});

test('a platform endpoint gets platform events, signed as stripe-node signs them', async (t) => {
  const receiver = await receiverFor(t);
  const p = new Platform();
  const endpoint = await p.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['customer.created'] });
  const acct = await p.onboardedAccount();
  await p.stripe.customers.create({ email: 'connected@example.com' }, { stripeAccount: acct });
  const cus = await p.stripe.customers.create({ email: 'platform@example.com' });
  const { headers, body } = await receiver.waitFor('customer.created');
  const event = p.stripe.webhooks.constructEvent(body, headers['stripe-signature'], endpoint.secret);
  assert.equal(event.data.object.id, cus.id, "the connected account's customer is not delivered here");
  assert.ok(event.account == null, 'a platform event names no account');

  // stripe-node's own signing of the same payload, secret and timestamp gives the same v1.
  const timestamp = Number(/t=(\d+)/.exec(headers['stripe-signature'])[1]);
  const ours = p.stripe.webhooks.generateTestHeaderString({
    payload: body.toString('utf8'),
    secret: endpoint.secret,
    timestamp,
  });
  const theirs = headers['stripe-signature'].split(',').find((part) => part.startsWith('v1='));
  assert.ok(ours.split(',').includes(theirs), `${ours} vs ${headers['stripe-signature']}`);
});
