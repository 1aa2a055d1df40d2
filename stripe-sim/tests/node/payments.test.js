// Direct charges on connected accounts through stripe-node: application fees, idempotency,
// refunds, declines, 3-D Secure and manual capture.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Platform, Stripe, formsOf, rejection, submit } from './helpers.js';

const { StripeCardError, StripeIdempotencyError, StripeInvalidRequestError } = Stripe.errors;

async function feeOf(p, chargeId) {
  const fees = await p.stripe.applicationFees.list({ charge: chargeId });
  assert.equal(fees.data.length, 1, JSON.stringify(fees.data));
  return fees.data[0];
}

test('a direct charge with application_fee_amount creates an ApplicationFee on the platform', async () => {
  const p = new Platform();
  const acct = await p.onboardedAccount();
  const pi = await p.charge(acct, { amount: 5000, fee: 600, metadata: { order_id: 'ord_1' } });
  assert.equal(pi.object, 'payment_intent');
  assert.equal(pi.status, 'succeeded');
  assert.equal(pi.amount_received, 5000);
  assert.equal(pi.application_fee_amount, 600);
  assert.equal(pi.metadata.order_id, 'ord_1');
  assert.match(pi.lastResponse.requestId, /^req_/);

  const charge = await p.stripe.charges.retrieve(pi.latest_charge, {}, { stripeAccount: acct });
  assert.equal(charge.paid, true);
  assert.equal(charge.captured, true);
  const fee = await feeOf(p, charge.id);
  assert.equal(fee.object, 'application_fee');
  assert.equal(fee.id, charge.application_fee);
  assert.equal(fee.amount, 600);
  assert.equal(fee.account, acct);
  assert.equal(fee.charge, charge.id);
  assert.equal(fee.refunds.object, 'list');
  // The fee lives on the platform only.
  const hidden = await rejection(
    p.stripe.applicationFees.retrieve(fee.id, {}, { stripeAccount: acct }),
    StripeInvalidRequestError,
  );
  assert.equal(hidden.statusCode, 404);
  assert.equal((await p.stripe.applicationFees.retrieve(fee.id)).id, fee.id);

  const expanded = await p.stripe.paymentIntents.retrieve(
    pi.id,
    { expand: ['latest_charge'] },
    { stripeAccount: acct },
  );
  assert.equal(expanded.latest_charge.id, charge.id);
  assert.equal(expanded.latest_charge.application_fee, fee.id);
});

test('an idempotent replay returns the same object; other params with the key are refused', async () => {
  const p = new Platform();
  const acct = await p.onboardedAccount();
  const params = { amount: 1200, currency: 'usd', payment_method_types: ['card'], application_fee_amount: 120 };
  const opts = { stripeAccount: acct, idempotencyKey: 'ord_7:charge:v1' };
  const first = await p.stripe.paymentIntents.create(params, opts);
  const replay = await p.stripe.paymentIntents.create(params, opts);
  assert.equal(replay.id, first.id);
  assert.deepEqual(replay, first);
  assert.equal(replay.lastResponse.headers['idempotent-replayed'], 'true');
  assert.match(replay.lastResponse.headers['request-id'], /^req_/);
  assert.equal(replay.lastResponse.idempotencyKey, 'ord_7:charge:v1');
  assert.equal(first.lastResponse.headers['idempotent-replayed'], undefined);
  const listed = await p.stripe.paymentIntents.list({}, { stripeAccount: acct });
  assert.deepEqual(listed.data.map((pi) => pi.id), [first.id], 'exactly one object was created');

  const conflict = await rejection(
    p.stripe.paymentIntents.create({ ...params, amount: 9999 }, opts),
    StripeIdempotencyError,
  );
  assert.equal(conflict.statusCode, 400);
  assert.equal(conflict.rawType, 'idempotency_error');
  assert.ok(conflict.message.length > 0);

  // The key is scoped to the account: the platform may use it for something else.
  const own = await p.stripe.customers.create({}, { idempotencyKey: 'ord_7:charge:v1' });
  assert.equal(own.object, 'customer');
});

test('partial then full refunds refund the application fee in proportion', async () => {
  const p = new Platform();
  const acct = await p.onboardedAccount();
  const on = { stripeAccount: acct };
  const pi = await p.charge(acct, { amount: 10000, fee: 1000 });

  const r1 = await p.stripe.refunds.create(
    { payment_intent: pi.id, amount: 3000, refund_application_fee: true },
    on,
  );
  assert.equal(r1.object, 'refund');
  assert.equal(r1.amount, 3000);
  assert.equal(r1.status, 'succeeded');
  assert.equal(r1.charge, pi.latest_charge);
  let fee = await feeOf(p, pi.latest_charge);
  assert.equal(fee.amount_refunded, 300);
  assert.equal(fee.refunded, false);

  const over = await rejection(
    p.stripe.refunds.create({ payment_intent: pi.id, amount: 7001 }, on),
    StripeInvalidRequestError,
  );
  assert.equal(over.statusCode, 400);
  let charge = await p.stripe.charges.retrieve(pi.latest_charge, {}, on);
  assert.equal(charge.amount_refunded, 3000, 'a rejected refund changes nothing');

  const rest = await p.stripe.refunds.create({ payment_intent: pi.id, refund_application_fee: true }, on);
  assert.equal(rest.amount, 7000);
  charge = await p.stripe.charges.retrieve(pi.latest_charge, {}, on);
  assert.equal(charge.refunded, true);
  assert.equal(charge.amount_refunded, 10000);
  fee = await feeOf(p, pi.latest_charge);
  assert.equal(fee.refunded, true);
  assert.equal(fee.amount_refunded, 1000);
  const feeRefunds = await p.stripe.applicationFees.listRefunds(fee.id);
  assert.deepEqual(feeRefunds.data.map((r) => r.amount).sort((a, b) => a - b), [300, 700]);
  assert.ok(feeRefunds.data.every((r) => r.object === 'fee_refund' && r.fee === fee.id));

  const again = await rejection(
    p.stripe.refunds.create({ charge: charge.id, amount: 1 }, on),
    StripeInvalidRequestError,
  );
  assert.equal(again.code, 'charge_already_refunded');
  const refunds = await p.stripe.refunds.list({ charge: charge.id }, on);
  assert.deepEqual(refunds.data.map((r) => r.amount).sort((a, b) => a - b), [3000, 7000]);
});

for (const [card, declineCode] of [
  ['pm_card_chargeDeclined', 'generic_decline'],
  ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
]) {
  test(`a declined card (${card}) raises StripeCardError with decline_code ${declineCode}`, async () => {
    const p = new Platform();
    const acct = await p.onboardedAccount();
    const err = await rejection(p.charge(acct, { pm: card }), StripeCardError);
    assert.equal(err.type, 'StripeCardError');
    assert.equal(err.rawType, 'card_error');
    assert.equal(err.statusCode, 402);
    assert.equal(err.code, 'card_declined');
    assert.equal(err.decline_code, declineCode);
    assert.match(err.requestId, /^req_/);
    // The failed intent is in the error and stays retryable with another card.
    const piId = err.payment_intent.id;
    assert.ok(piId.startsWith('pi_'), piId);
    const pi = await p.stripe.paymentIntents.retrieve(piId, {}, { stripeAccount: acct });
    assert.equal(pi.status, 'requires_payment_method');
    assert.equal(pi.last_payment_error.code, 'card_declined');
    assert.equal(pi.last_payment_error.decline_code, declineCode);
    const retried = await p.stripe.paymentIntents.confirm(
      piId,
      { payment_method: 'pm_card_visa' },
      { stripeAccount: acct },
    );
    assert.equal(retried.status, 'succeeded');
  });
}

async function threeDS(p, acct, choice) {
  const returnUrl = 'http://localhost:9/checkout/return';
  const pi = await p.charge(acct, {
    amount: 3000,
    fee: 300,
    pm: 'pm_card_authenticationRequired',
    return_url: returnUrl,
  });
  assert.equal(pi.status, 'requires_action');
  assert.equal(pi.next_action.type, 'redirect_to_url');
  const pageUrl = pi.next_action.redirect_to_url.url;
  const page = await fetch(pageUrl, { redirect: 'manual' });
  const html = await page.text();
  assert.equal(page.status, 200, html);
  const forms = formsOf(pageUrl, html);
  const chosen = forms.filter((f) => f.text.includes(choice));
  assert.equal(chosen.length, 1, JSON.stringify(forms));
  const done = await submit(chosen[0]);
  assert.ok([302, 303].includes(done.status), `${done.status}: ${await done.text()}`);
  const location = done.headers.get('location');
  assert.ok(location.startsWith(returnUrl), location);
  assert.ok(location.includes('payment_intent=' + pi.id), location);
  return p.stripe.paymentIntents.retrieve(pi.id, {}, { stripeAccount: acct });
}

test('3-D Secure: requires_action, then approved on the hosted challenge page', async () => {
  const p = new Platform();
  const acct = await p.onboardedAccount();
  const pi = await threeDS(p, acct, 'complete');
  assert.equal(pi.status, 'succeeded');
  assert.equal(pi.amount_received, 3000);
  const fee = await feeOf(p, pi.latest_charge);
  assert.equal(fee.amount, 300);
});

test('3-D Secure: a failed challenge leaves the intent requiring a payment method', async () => {
  const p = new Platform();
  const acct = await p.onboardedAccount();
  const pi = await threeDS(p, acct, 'fail');
  assert.equal(pi.status, 'requires_payment_method');
  assert.ok(pi.last_payment_error, 'last_payment_error is set');
});

test('manual capture of part of the amount with amount_to_capture', async () => {
  const p = new Platform();
  const acct = await p.onboardedAccount();
  const on = { stripeAccount: acct };
  const pi = await p.charge(acct, { amount: 8000, fee: 800, capture_method: 'manual' });
  assert.equal(pi.status, 'requires_capture');
  assert.equal(pi.amount_capturable, 8000);
  let charge = await p.stripe.charges.retrieve(pi.latest_charge, {}, on);
  assert.equal(charge.captured, false);
  assert.equal(charge.paid, true);

  const captured = await p.stripe.paymentIntents.capture(pi.id, { amount_to_capture: 5000 }, on);
  assert.equal(captured.status, 'succeeded');
  assert.equal(captured.amount_received, 5000);
  assert.equal(captured.amount_capturable, 0);
  charge = await p.stripe.charges.retrieve(pi.latest_charge, {}, on);
  assert.equal(charge.captured, true);
  assert.equal(charge.amount_captured, 5000);

  await rejection(p.stripe.paymentIntents.capture(pi.id, {}, on), StripeInvalidRequestError);

  const over = await p.charge(acct, { amount: 1000, fee: 0, capture_method: 'manual' });
  const tooMuch = await rejection(
    p.stripe.paymentIntents.capture(over.id, { amount_to_capture: 1001 }, on),
    StripeInvalidRequestError,
  );
  assert.equal(tooMuch.param, 'amount_to_capture');
  const canceled = await p.stripe.paymentIntents.cancel(over.id, {}, on);
  assert.equal(canceled.status, 'canceled');
});
