"""Direct charges on connected accounts: cloning cards, fees, idempotency, refunds, declines,
3-D Secure and manual capture, all through the official stripe-python client."""

import pytest
import stripe

from simpages import forms_of, submit


def _fee_of(platform, charge_id):
    fees = stripe.ApplicationFee.list(api_key=platform.api_key, charge=charge_id)
    assert len(fees.data) == 1, fees
    return fees.data[0]


def test_clone_payment_method_to_connected_account_and_charge(platform):
    cus = stripe.Customer.create(api_key=platform.api_key, email="buyer@example.com")
    pm = stripe.PaymentMethod.attach("pm_card_visa", customer=cus.id, api_key=platform.api_key)
    assert pm.id.startswith("pm_") and pm.id != "pm_card_visa"
    assert pm.customer == cus.id
    acct = platform.onboarded_account()

    clone = stripe.PaymentMethod.create(
        api_key=platform.api_key, stripe_account=acct, customer=cus.id, payment_method=pm.id
    )
    assert clone.id != pm.id
    assert clone.card.last4 == "4242"
    assert clone.card.fingerprint == pm.card.fingerprint
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe.PaymentMethod.retrieve(clone.id, api_key=platform.api_key)
    assert missing.value.http_status == 404

    seller_cus = stripe.Customer.create(api_key=platform.api_key, stripe_account=acct)
    stripe.PaymentMethod.attach(clone.id, customer=seller_cus.id, api_key=platform.api_key, stripe_account=acct)
    pi = platform.charge(acct, amount=2500, fee=250, pm=clone.id, customer=seller_cus.id)
    assert pi.status == "succeeded"
    assert pi.payment_method == clone.id


def test_direct_charge_creates_application_fee_on_platform(platform):
    acct = platform.onboarded_account()
    pi = platform.charge(acct, amount=5000, fee=600, metadata={"order_id": "ord_1"})
    assert pi.status == "succeeded"
    assert pi.amount_received == 5000
    assert pi.application_fee_amount == 600
    assert pi.metadata["order_id"] == "ord_1"

    charge = stripe.Charge.retrieve(pi.latest_charge, api_key=platform.api_key, stripe_account=acct)
    assert charge.paid and charge.captured
    fee = _fee_of(platform, charge.id)
    assert fee.id == charge.application_fee
    assert fee.amount == 600
    assert fee.account == acct
    assert fee.charge == charge.id
    # The fee lives on the platform only.
    with pytest.raises(stripe.InvalidRequestError):
        stripe.ApplicationFee.retrieve(fee.id, api_key=platform.api_key, stripe_account=acct)

    expanded = stripe.PaymentIntent.retrieve(
        pi.id, api_key=platform.api_key, stripe_account=acct, expand=["latest_charge"]
    )
    assert expanded.latest_charge.id == charge.id
    assert expanded.latest_charge.application_fee == fee.id


def test_idempotent_replay_returns_the_same_object(platform):
    acct = platform.onboarded_account()
    params = dict(amount=1200, currency="usd", payment_method_types=["card"], application_fee_amount=120)
    first = stripe.PaymentIntent.create(
        api_key=platform.api_key, stripe_account=acct, idempotency_key="ord_7:charge:v1", **params
    )
    replay = stripe.PaymentIntent.create(
        api_key=platform.api_key, stripe_account=acct, idempotency_key="ord_7:charge:v1", **params
    )
    assert replay.id == first.id
    headers = {k.lower(): v for k, v in replay.last_response.headers.items()}
    assert headers.get("idempotent-replayed") == "true"
    assert headers.get("request-id", "").startswith("req_")
    assert "idempotent-replayed" not in {k.lower() for k in first.last_response.headers}
    listed = stripe.PaymentIntent.list(api_key=platform.api_key, stripe_account=acct)
    assert [p.id for p in listed.data] == [first.id], "exactly one object was created"

    with pytest.raises(stripe.IdempotencyError) as conflict:
        stripe.PaymentIntent.create(
            api_key=platform.api_key,
            stripe_account=acct,
            idempotency_key="ord_7:charge:v1",
            **dict(params, amount=9999),
        )
    assert conflict.value.http_status == 400
    assert conflict.value.error.type == "idempotency_error"


def test_partial_and_full_refunds_refund_the_fee_in_proportion(platform):
    acct = platform.onboarded_account()
    pi = platform.charge(acct, amount=10000, fee=1000)
    kw = dict(api_key=platform.api_key, stripe_account=acct)

    r1 = stripe.Refund.create(payment_intent=pi.id, amount=3000, refund_application_fee=True, **kw)
    assert r1.amount == 3000 and r1.status == "succeeded"
    assert r1.charge == pi.latest_charge
    assert _fee_of(platform, pi.latest_charge).amount_refunded == 300

    r2 = stripe.Refund.create(payment_intent=pi.id, amount=2000, refund_application_fee=True, **kw)
    assert r2.id != r1.id
    fee = _fee_of(platform, pi.latest_charge)
    assert fee.amount_refunded == 500
    assert fee.refunded is False
    assert len(stripe.ApplicationFee.list_refunds(fee.id, api_key=platform.api_key).data) == 2

    with pytest.raises(stripe.InvalidRequestError) as over:
        stripe.Refund.create(payment_intent=pi.id, amount=5001, **kw)
    assert over.value.http_status == 400
    charge = stripe.Charge.retrieve(pi.latest_charge, **kw)
    assert charge.amount_refunded == 5000, "a rejected refund changes nothing"

    rest = stripe.Refund.create(payment_intent=pi.id, refund_application_fee=True, **kw)
    assert rest.amount == 5000
    charge = stripe.Charge.retrieve(pi.latest_charge, **kw)
    assert charge.refunded is True
    assert charge.amount_refunded == 10000
    fee = _fee_of(platform, pi.latest_charge)
    assert fee.refunded is True and fee.amount_refunded == 1000

    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe.Refund.create(charge=charge.id, amount=1, **kw)
    assert again.value.code == "charge_already_refunded"
    refunds = stripe.Refund.list(charge=charge.id, **kw)
    assert sorted(r.amount for r in refunds.data) == [2000, 3000, 5000]


def test_refund_without_fee_refund_keeps_the_fee(platform):
    acct = platform.onboarded_account()
    pi = platform.charge(acct, amount=4000, fee=400)
    stripe.Refund.create(payment_intent=pi.id, api_key=platform.api_key, stripe_account=acct)
    fee = _fee_of(platform, pi.latest_charge)
    assert fee.amount_refunded == 0 and fee.refunded is False


@pytest.mark.parametrize(
    "card, code, decline_code",
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("4000000000000069", "expired_card", None),
        ("4000000000000127", "incorrect_cvc", None),
    ],
)
def test_declines_raise_card_errors(platform, card, code, decline_code):
    acct = platform.onboarded_account()
    pm = card
    if card.isdigit():
        pm = stripe.PaymentMethod.create(
            api_key=platform.api_key,
            stripe_account=acct,
            type="card",
            card={"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        ).id
    with pytest.raises(stripe.error.CardError) as declined:
        platform.charge(acct, amount=1000, fee=100, pm=pm)
    err = declined.value
    assert err.http_status == 402
    assert err.code == code
    assert err.error.type == "card_error"
    if decline_code:
        assert err.error.decline_code == decline_code
    # The failed intent is in the error and stays retryable with another card.
    pi_id = err.error.payment_intent.id
    pi = stripe.PaymentIntent.retrieve(pi_id, api_key=platform.api_key, stripe_account=acct)
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.code == code
    retried = stripe.PaymentIntent.confirm(
        pi_id, payment_method="pm_card_visa", api_key=platform.api_key, stripe_account=acct
    )
    assert retried.status == "succeeded"


def _three_ds(platform, acct, choice):
    return_url = "http://localhost:9/checkout/return"
    pi = platform.charge(acct, amount=3000, fee=300, pm="pm_card_authenticationRequired", return_url=return_url)
    assert pi.status == "requires_action"
    assert pi.next_action.type == "redirect_to_url"
    page_url = pi.next_action.redirect_to_url.url
    page = platform.http.get(page_url, allow_redirects=False)
    assert page.status_code == 200, page.text
    forms = forms_of(page_url, page.text)
    chosen = [f for f in forms if choice in f["text"] or any(choice in v for _, v in f.get("button", ()))]
    assert len(chosen) == 1, forms
    done = submit(platform.http, chosen[0])
    assert done.status_code in (302, 303), done.text
    assert done.headers["Location"].startswith(return_url)
    assert "payment_intent=" + pi.id in done.headers["Location"]
    return stripe.PaymentIntent.retrieve(pi.id, api_key=platform.api_key, stripe_account=acct)


def test_three_d_secure_approved(platform):
    acct = platform.onboarded_account()
    pi = _three_ds(platform, acct, "complete")
    assert pi.status == "succeeded"
    assert pi.amount_received == 3000


def test_three_d_secure_failed(platform):
    acct = platform.onboarded_account()
    pi = _three_ds(platform, acct, "fail")
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error is not None


def test_manual_capture_of_part_of_the_amount(platform):
    acct = platform.onboarded_account()
    kw = dict(api_key=platform.api_key, stripe_account=acct)
    pi = platform.charge(acct, amount=8000, fee=800, capture_method="manual")
    assert pi.status == "requires_capture"
    assert pi.amount_capturable == 8000
    charge = stripe.Charge.retrieve(pi.latest_charge, **kw)
    assert charge.captured is False and charge.paid is True

    captured = stripe.PaymentIntent.capture(pi.id, amount_to_capture=5000, **kw)
    assert captured.status == "succeeded"
    assert captured.amount_received == 5000
    assert captured.amount_capturable == 0
    charge = stripe.Charge.retrieve(pi.latest_charge, **kw)
    assert charge.captured is True
    assert charge.amount_captured == 5000

    with pytest.raises(stripe.InvalidRequestError):
        stripe.PaymentIntent.capture(pi.id, **kw)

    over = platform.charge(acct, amount=1000, fee=0, capture_method="manual")
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        stripe.PaymentIntent.capture(over.id, amount_to_capture=1001, **kw)
    assert too_much.value.param == "amount_to_capture"
    canceled = stripe.PaymentIntent.cancel(over.id, **kw)
    assert canceled.status == "canceled"
