// Connect through stripe-node: onboarding with an Account Link and the emulator's hosted page,
// and cloning a platform customer's card onto a connected account.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Platform, Stripe, formsOf, rejection, submit } from './helpers.js';

const RETURN_URL = 'http://localhost:9/seller/onboarding/return';
const REFRESH_URL = 'http://localhost:9/seller/onboarding/refresh';

test('hosted onboarding through an account link completes the account', async () => {
  const p = new Platform();
  const acct = await p.account({ email: 'seller@example.com' });
  assert.equal(acct.object, 'account');
  assert.equal(acct.charges_enabled, false);
  assert.equal(acct.details_submitted, false);
  assert.ok(acct.requirements.currently_due.length > 0, 'a new express account has requirements due');

  const link = await p.stripe.accountLinks.create({
    account: acct.id,
    type: 'account_onboarding',
    return_url: RETURN_URL,
    refresh_url: REFRESH_URL,
  });
  assert.equal(link.object, 'account_link');
  assert.ok(link.expires_at > link.created);

  const page = await fetch(link.url, { redirect: 'manual' });
  const html = await page.text();
  assert.equal(page.status, 200, html);
  assert.match(page.headers.get('content-type'), /text\/html/);
  const forms = formsOf(link.url, html);
  assert.equal(forms.length, 1, JSON.stringify(forms));
  const done = await submit(forms[0]);
  assert.ok([302, 303].includes(done.status), `${done.status}: ${await done.text()}`);
  assert.ok(done.headers.get('location').startsWith(RETURN_URL), done.headers.get('location'));

  const after = await p.stripe.accounts.retrieve(acct.id);
  assert.equal(after.details_submitted, true);
  assert.equal(after.charges_enabled, true);
  assert.equal(after.payouts_enabled, true);
  assert.deepEqual(after.requirements.currently_due, []);

  // A used link sends the seller to refresh_url, where the app makes a new one.
  const again = await fetch(link.url, { redirect: 'manual' });
  assert.ok([302, 303].includes(again.status), String(again.status));
  assert.ok(again.headers.get('location').startsWith(REFRESH_URL));
});

test('a platform customer card is cloned to a connected account and charged there', async () => {
  const p = new Platform();
  const cus = await p.stripe.customers.create({ email: 'buyer@example.com' });
  const pm = await p.stripe.paymentMethods.attach('pm_card_visa', { customer: cus.id });
  assert.ok(pm.id.startsWith('pm_') && pm.id !== 'pm_card_visa', pm.id);
  assert.equal(pm.customer, cus.id);
  const acct = await p.onboardedAccount();

  const clone = await p.stripe.paymentMethods.create(
    { customer: cus.id, payment_method: pm.id },
    { stripeAccount: acct },
  );
  assert.equal(clone.object, 'payment_method');
  assert.notEqual(clone.id, pm.id);
  assert.equal(clone.card.last4, '4242');
  assert.equal(clone.card.fingerprint, pm.card.fingerprint);
  // The clone lives on the connected account only.
  const missing = await rejection(p.stripe.paymentMethods.retrieve(clone.id), Stripe.errors.StripeInvalidRequestError);
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.code, 'resource_missing');

  const sellerCus = await p.stripe.customers.create({}, { stripeAccount: acct });
  await p.stripe.paymentMethods.attach(clone.id, { customer: sellerCus.id }, { stripeAccount: acct });
  const pi = await p.charge(acct, { amount: 2500, fee: 250, pm: clone.id, customer: sellerCus.id });
  assert.equal(pi.status, 'succeeded');
  assert.equal(pi.payment_method, clone.id);
  assert.equal(pi.customer, sellerCus.id);
});

test('a Connect response names its account, so lastResponse.stripeAccount is set', async () => {
  const p = new Platform();
  const acct = await p.onboardedAccount();
  const cus = await p.stripe.customers.create({}, { stripeAccount: acct });
  assert.equal(cus.lastResponse.headers['stripe-account'], acct);
  assert.equal(cus.lastResponse.stripeAccount, acct);
  const own = await p.stripe.customers.create({});
  assert.equal(own.lastResponse.headers['stripe-account'], undefined);
});
