"""Checkout Sessions in setup mode through stripe-python: create for a customer, the hosted
card page filled like a browser without JavaScript, retrieve with the SetupIntent expanded,
list and expire."""

import pytest
import stripe

from simpages import forms_of, submit

SUCCESS = "https://shop.example/cards/saved?session_id={CHECKOUT_SESSION_ID}"


def _session(platform, **params):
    cus = stripe.Customer.create(api_key=platform.api_key, email="buyer@example.com", **params)
    cs = stripe.checkout.Session.create(
        api_key=platform.api_key,
        mode="setup",
        customer=cus.id,
        currency="usd",
        success_url=SUCCESS,
        cancel_url="https://shop.example/cards",
        metadata={"buyer": "7"},
        **params,
    )
    return cus, cs


def _fill(http, url, number):
    page = http.get(url, allow_redirects=False)
    assert page.status_code == 200
    (form,) = forms_of(url, page.text)
    values = {"number": number, "expiry": "12/34", "cvc": "123", "name": "Jenny Rosen"}
    form["fields"] = [(k, values.get(k, v)) for k, v in form["fields"]]
    return submit(http, form)


def test_create_fill_and_retrieve_expanded(platform, http):
    cus, cs = _session(platform)
    assert cs.object == "checkout.session"
    assert cs.mode == "setup" and cs.status == "open"
    assert cs.payment_status == "no_payment_required"
    assert cs.setup_intent is None
    assert cs.metadata["buyer"] == "7"

    done = _fill(http, cs.url, "4242 4242 4242 4242")
    assert done.status_code == 303
    assert done.headers["Location"] == SUCCESS.replace("{CHECKOUT_SESSION_ID}", cs.id)

    got = stripe.checkout.Session.retrieve(
        cs.id, api_key=platform.api_key, expand=["setup_intent.payment_method"]
    )
    assert got.status == "complete"
    assert got.setup_intent.status == "succeeded"
    assert got.setup_intent.payment_method.card.last4 == "4242"
    assert got.setup_intent.payment_method.customer == cus.id
    sessions = stripe.checkout.Session.list(api_key=platform.api_key, customer=cus.id)
    assert [s.id for s in sessions.data] == [cs.id]


def test_bad_card_stays_on_the_page(platform, http):
    _, cs = _session(platform)
    page = _fill(http, cs.url, "4242 4242 4242 4241")
    assert page.status_code == 422
    assert "Your card number is invalid." in page.text
    assert 'value="4242 4242 4242 4241"' in page.text
    assert stripe.checkout.Session.retrieve(cs.id, api_key=platform.api_key).status == "open"


def test_expire_on_a_connected_account(platform, http):
    acct = platform.onboarded_account()
    _, cs = _session(platform, stripe_account=acct)
    expired = stripe.checkout.Session.expire(cs.id, api_key=platform.api_key, stripe_account=acct)
    assert expired.status == "expired" and expired.url is None
    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe.checkout.Session.expire(cs.id, api_key=platform.api_key, stripe_account=acct)
    assert again.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as hidden:
        stripe.checkout.Session.retrieve(cs.id, api_key=platform.api_key)
    assert hidden.value.http_status == 404
    page = http.get(cs.url)
    assert "This link has expired" in page.text
