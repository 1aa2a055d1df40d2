"""Fixtures for the stripe-python conformance suite.

The emulator is started by run.sh (or by anyone else); this file only reads its address from
STRIPE_SIM_URL. Every test gets its own secret key, and each secret key is its own platform in
the emulator, so tests never see each other's objects.
"""

import os
import uuid

import pytest
import requests
import stripe


def _sim_url():
    url = os.environ.get("STRIPE_SIM_URL")
    if not url:
        raise pytest.UsageError("STRIPE_SIM_URL is not set: start stripe-sim and export its base URL")
    return url.rstrip("/")


@pytest.fixture(scope="session")
def sim_url():
    return _sim_url()


@pytest.fixture(autouse=True)
def _point_stripe_at_sim(sim_url):
    stripe.api_base = sim_url
    stripe.connect_api_base = sim_url
    stripe.upload_api_base = sim_url
    # A retry would hide the first response and add its own idempotency key.
    stripe.max_network_retries = 0
    yield


@pytest.fixture
def api_key():
    return "sk_test_py_" + uuid.uuid4().hex


@pytest.fixture
def http():
    """A plain HTTP client that does not follow redirects, as the hosted pages are checked hop by hop."""
    with requests.Session() as session:
        yield session


class Platform:
    """One platform (secret key) with helpers for the emulator-only endpoints."""

    def __init__(self, sim_url, api_key, http):
        self.sim_url = sim_url
        self.api_key = api_key
        self.http = http

    def raw(self, method, path, data=None, account=None, params=None):
        headers = {"Authorization": "Bearer " + self.api_key}
        if account:
            headers["Stripe-Account"] = account
        return self.http.request(
            method, self.sim_url + path, data=data, params=params, headers=headers, allow_redirects=False
        )

    def account(self, **params):
        params.setdefault("type", "express")
        params.setdefault("country", "US")
        return stripe.Account.create(api_key=self.api_key, **params)

    def onboarded_account(self, **params):
        acct = self.account(**params)
        resp = self.raw("POST", "/v1/test_helpers/accounts/%s/onboard" % acct.id)
        assert resp.status_code == 200, resp.text
        return acct.id

    def charge(self, account, amount=1000, fee=100, pm="pm_card_visa", **params):
        """A confirmed direct charge on `account` with an application fee."""
        return stripe.PaymentIntent.create(
            api_key=self.api_key,
            stripe_account=account,
            amount=amount,
            currency="usd",
            payment_method_types=["card"],
            application_fee_amount=fee,
            payment_method=pm,
            confirm=True,
            **params,
        )


@pytest.fixture
def platform(sim_url, api_key, http):
    return Platform(sim_url, api_key, http)
