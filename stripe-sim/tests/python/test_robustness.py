"""Fault injection seen through stripe-python's retries, concurrent idempotent twins, and
hostile input that must never produce a 5xx."""

import concurrent.futures
import itertools

import pytest
import stripe


def _fault(platform, **rule):
    resp = platform.raw("POST", "/v1/test_helpers/faults", data=rule)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_dropped_response_is_retried_and_replayed_without_a_second_charge(platform):
    acct = platform.onboarded_account()
    _fault(platform, path="/v1/payment_intents", method="POST", kind="drop_response", count=1)
    client = stripe.StripeClient(
        platform.api_key,
        base_addresses={"api": platform.sim_url},
        max_network_retries=2,
    )
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1500,
            "currency": "usd",
            "payment_method_types": ["card"],
            "payment_method": "pm_card_visa",
            "application_fee_amount": 150,
            "confirm": True,
        },
        options={"stripe_account": acct, "idempotency_key": "ord_drop:charge:v1"},
    )
    assert pi.status == "succeeded"
    headers = {k.lower(): v for k, v in pi.last_response.headers.items()}
    assert headers.get("idempotent-replayed") == "true", "the answer came from the stored first attempt"
    intents = stripe.PaymentIntent.list(api_key=platform.api_key, stripe_account=acct)
    assert [p.id for p in intents.data] == [pi.id]
    assert len(stripe.ApplicationFee.list(api_key=platform.api_key).data) == 1


def test_injected_errors_map_to_client_exceptions(platform):
    _fault(platform, path="/v1/customers", method="POST", kind="rate_limit", count=1)
    with pytest.raises(stripe.RateLimitError) as limited:
        stripe.Customer.create(api_key=platform.api_key)
    assert limited.value.http_status == 429
    _fault(platform, path="/v1/customers", method="POST", kind="server_error", status=500, count=1)
    with pytest.raises(stripe.APIError) as broken:
        stripe.Customer.create(api_key=platform.api_key)
    assert broken.value.http_status == 500
    # Rules are used up; the next call is healthy and nothing was created by the failed ones.
    stripe.Customer.create(api_key=platform.api_key)
    assert len(stripe.Customer.list(api_key=platform.api_key).data) == 1


def test_concurrent_identical_idempotent_requests_create_one_object(platform):
    _fault(platform, path="/v1/customers", method="POST", kind="latency", latency_ms=300, count=1)

    def create(_):
        resp = platform.http.post(
            platform.sim_url + "/v1/customers",
            data={"email": "twin@example.com"},
            headers={"Authorization": "Bearer " + platform.api_key, "Idempotency-Key": "twin-1"},
        )
        return resp.status_code, resp.json()

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(create, range(8)))
    ok_ids = {body["id"] for status, body in results if status == 200}
    assert len(ok_ids) == 1, results
    for status, body in results:
        assert status in (200, 409), (status, body)
        if status == 409:
            assert body["error"]["type"] in ("idempotency_error", "invalid_request_error")
    assert len(stripe.Customer.list(api_key=platform.api_key).data) == 1


_HOSTILE_VALUES = [
    "",
    "-1",
    "99999999999999999999999",
    "1e3",
    "true",
    "null",
    "\u00e9\u4e2d\U0001f600",
    "x" * 6000,
    "pi_",
    "acct_../../etc",
]
_HOSTILE_SHAPES = ["{k}", "{k}[]", "{k}[x]", "{k}[x][y][z]", "{k}[0][1]", "{k}]["]
_ENDPOINTS = {
    "/v1/customers": ["email", "metadata", "name"],
    "/v1/payment_intents": ["amount", "currency", "confirm", "application_fee_amount", "capture_method"],
    "/v1/payment_methods": ["type", "card", "payment_method"],
    "/v1/refunds": ["payment_intent", "amount", "charge"],
    "/v1/accounts": ["type", "country", "capabilities"],
    "/v1/account_links": ["account", "type", "return_url"],
    "/v1/webhook_endpoints": ["url", "enabled_events", "connect"],
}


@pytest.mark.parametrize("path", sorted(_ENDPOINTS))
def test_hostile_input_is_answered_with_4xx_never_5xx(platform, path):
    acct = platform.onboarded_account()
    headers = {"Authorization": "Bearer " + platform.api_key}
    for key, shape, value in itertools.product(_ENDPOINTS[path], _HOSTILE_SHAPES, _HOSTILE_VALUES):
        for account in (None, acct):
            h = dict(headers, **({"Stripe-Account": account} if account else {}))
            resp = platform.http.post(platform.sim_url + path, data={shape.format(k=key): value}, headers=h)
            assert resp.status_code < 500, (path, shape.format(k=key), value[:40], resp.status_code, resp.text)
            if resp.status_code >= 400:
                assert resp.json()["error"]["type"], resp.text
    for query in ("limit=0", "limit=101", "limit=abc", "starting_after=cus_nope", "created[gte]=x", "expand[]=nope.nope"):
        resp = platform.http.get(platform.sim_url + path + "?" + query, headers=headers)
        assert resp.status_code < 500, (path, query, resp.status_code, resp.text)
