"""Pagination, account isolation and Stripe-style errors for bad input."""

import uuid

import pytest
import stripe


def test_auto_paging_iterates_over_every_object_newest_first(platform):
    created = [stripe.Customer.create(api_key=platform.api_key, email="c%d@example.com" % i).id for i in range(23)]
    first_page = stripe.Customer.list(api_key=platform.api_key, limit=10)
    assert first_page.object == "list"
    assert first_page.url == "/v1/customers"
    assert len(first_page.data) == 10
    assert first_page.has_more is True
    assert [c.id for c in first_page.data] == created[::-1][:10]

    everything = [c.id for c in stripe.Customer.list(api_key=platform.api_key, limit=10).auto_paging_iter()]
    assert everything == created[::-1]

    after = stripe.Customer.list(api_key=platform.api_key, limit=5, starting_after=created[10])
    assert [c.id for c in after.data] == created[5:10][::-1]
    before = stripe.Customer.list(api_key=platform.api_key, limit=3, ending_before=created[10])
    assert [c.id for c in before.data] == created[11:14][::-1]
    last = stripe.Customer.list(api_key=platform.api_key, limit=100)
    assert len(last.data) == 23 and last.has_more is False


def test_list_filters_by_customer(platform):
    acct = platform.onboarded_account()
    kw = dict(api_key=platform.api_key, stripe_account=acct)
    a = stripe.Customer.create(**kw)
    b = stripe.Customer.create(**kw)
    for cus in (a, b, a):
        platform.charge(acct, amount=1000, fee=100, customer=cus.id)
    of_a = stripe.PaymentIntent.list(customer=a.id, **kw)
    assert len(of_a.data) == 2
    assert all(p.customer == a.id for p in of_a.data)
    charges_of_b = stripe.Charge.list(customer=b.id, **kw)
    assert len(charges_of_b.data) == 1


def test_objects_are_invisible_across_accounts(platform):
    one = platform.onboarded_account()
    two = platform.onboarded_account()
    pi = platform.charge(one, amount=1000, fee=100)
    for account in (two, None):
        with pytest.raises(stripe.InvalidRequestError) as missing:
            stripe.PaymentIntent.retrieve(pi.id, api_key=platform.api_key, stripe_account=account)
        assert missing.value.http_status == 404
        assert missing.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Refund.create(payment_intent=pi.id, api_key=platform.api_key, stripe_account=two)


def test_an_account_of_another_platform_is_forbidden(platform):
    acct = platform.onboarded_account()
    other_key = "sk_test_py_" + uuid.uuid4().hex
    with pytest.raises(stripe.PermissionError) as forbidden:
        stripe.Customer.create(api_key=other_key, stripe_account=acct)
    assert forbidden.value.http_status == 403
    # Retrieving it by id: Stripe answers either "no access" or "no such account"; never the object.
    with pytest.raises(stripe.StripeError) as hidden:
        stripe.Account.retrieve(acct, api_key=other_key)
    assert hidden.value.http_status in (403, 404)


def test_authentication_is_required(platform):
    with pytest.raises(stripe.AuthenticationError) as bad:
        stripe.Customer.list(api_key="sk_live_not_a_test_key")
    assert bad.value.http_status == 401
    resp = platform.http.get(platform.sim_url + "/v1/customers")
    assert resp.status_code == 401
    assert resp.json()["error"]["type"] == "invalid_request_error"
    basic = platform.http.get(platform.sim_url + "/v1/customers", auth=(platform.api_key, ""))
    assert basic.status_code == 200, basic.text


def test_missing_parameter(platform):
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe.PaymentIntent.create(api_key=platform.api_key, currency="usd")
    assert err.value.http_status == 400
    assert err.value.param == "amount"
    assert err.value.code == "parameter_missing"


def test_unknown_parameter(platform):
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe.Customer.create(api_key=platform.api_key, favourite_colour="teal")
    assert err.value.http_status == 400
    assert err.value.param == "favourite_colour"
    assert err.value.code == "parameter_unknown"


@pytest.mark.parametrize(
    "params, param",
    [
        ({"amount": "twelve", "currency": "usd"}, "amount"),
        ({"amount": 1000, "currency": "usd", "capture_method": "sometimes"}, "capture_method"),
        ({"amount": -5, "currency": "usd"}, "amount"),
        ({"amount": 1000, "currency": "usd", "confirm": "perhaps"}, "confirm"),
    ],
)
def test_ill_typed_parameters(platform, params, param):
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe.PaymentIntent.create(api_key=platform.api_key, **params)
    assert err.value.http_status == 400
    assert err.value.param == param


def test_metadata_limits(platform):
    with pytest.raises(stripe.InvalidRequestError) as too_many:
        stripe.Customer.create(api_key=platform.api_key, metadata={"k%d" % i: "v" for i in range(51)})
    assert too_many.value.param.startswith("metadata")
    with pytest.raises(stripe.InvalidRequestError) as long_key:
        stripe.Customer.create(api_key=platform.api_key, metadata={"k" * 41: "v"})
    assert long_key.value.param.startswith("metadata")
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Customer.create(api_key=platform.api_key, metadata={"k": "v" * 501})
    ok = stripe.Customer.create(api_key=platform.api_key, metadata={"k" * 40: "v" * 500})
    assert ok.metadata["k" * 40] == "v" * 500


def test_unknown_url_and_unknown_id(platform):
    resp = platform.raw("GET", "/v1/teleporters")
    assert resp.status_code == 404
    body = resp.json()
    assert body["error"]["type"] == "invalid_request_error"
    assert resp.headers["Request-Id"].startswith("req_")
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe.Customer.retrieve("cus_doesnotexist", api_key=platform.api_key)
    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"


def test_malformed_bodies_are_400_not_500(platform):
    headers = {"Authorization": "Bearer " + platform.api_key, "Content-Type": "application/x-www-form-urlencoded"}
    for body in (b"amount=%zz&currency=usd", b"metadata[=x", b"\xff\xfe=\xff", b"amount[]=1&amount=2"):
        resp = platform.http.post(platform.sim_url + "/v1/payment_intents", data=body, headers=headers)
        assert resp.status_code == 400, (body, resp.status_code, resp.text)
        assert resp.json()["error"]["type"] == "invalid_request_error"
