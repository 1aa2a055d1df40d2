"""Webhook endpoints and signed deliveries, verified with stripe-python's own construct_event."""

import http.server
import json
import queue
import threading
import time

import pytest
import stripe


class _Receiver:
    """A local HTTP server that records every POST (headers and raw body) and answers 200."""

    def __init__(self):
        self.deliveries = queue.Queue()
        self.set_aside = []
        received = self.deliveries

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.put((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/webhooks" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, event_type, timeout=20.0):
        """The first delivery of `event_type`. Others are kept for later waits: deliveries run
        concurrently, so a later event may arrive first. Bounded so a lost delivery fails."""
        for i, (headers, body) in enumerate(self.set_aside):
            if json.loads(body)["type"] == event_type:
                del self.set_aside[i]
                return headers, body
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail("no %s delivery within %.0f s" % (event_type, timeout))
            try:
                headers, body = self.deliveries.get(timeout=remaining)
            except queue.Empty:
                continue
            if json.loads(body)["type"] == event_type:
                return headers, body
            self.set_aside.append((headers, body))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = _Receiver()
    yield r
    r.close()


def _signature(headers):
    return {k.lower(): v for k, v in headers.items()}["stripe-signature"]


def test_connect_endpoint_receives_signed_events_of_connected_accounts(platform, receiver):
    endpoint = stripe.WebhookEndpoint.create(
        api_key=platform.api_key, url=receiver.url, enabled_events=["*"], connect=True
    )
    assert endpoint.object == "webhook_endpoint"
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.status == "enabled"
    # The secret is returned only once.
    assert getattr(stripe.WebhookEndpoint.retrieve(endpoint.id, api_key=platform.api_key), "secret", None) is None

    acct = platform.onboarded_account()
    pi = platform.charge(acct, amount=2000, fee=200)

    headers, body = receiver.wait_for("payment_intent.succeeded")
    event = stripe.Webhook.construct_event(body, _signature(headers), endpoint.secret)
    assert event.account == acct
    assert event.data.object.id == pi.id
    assert event.data.object.status == "succeeded"
    assert event.livemode is False

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.replace(b"succeeded", b"failed"), _signature(headers), endpoint.secret)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, _signature(headers), "whsec_wrong")

    # The delivered event is the one the API lists for the account.
    listed = stripe.Event.retrieve(event.id, api_key=platform.api_key, stripe_account=acct)
    assert listed.type == "payment_intent.succeeded"


def test_platform_endpoint_gets_platform_events_only(platform, receiver):
    endpoint = stripe.WebhookEndpoint.create(
        api_key=platform.api_key,
        url=receiver.url,
        enabled_events=["application_fee.created", "customer.created"],
    )
    acct = platform.onboarded_account()
    stripe.Customer.create(api_key=platform.api_key, stripe_account=acct, email="connected@example.com")
    platform_cus = stripe.Customer.create(api_key=platform.api_key, email="platform@example.com")
    platform.charge(acct, amount=3000, fee=300)

    headers, body = receiver.wait_for("customer.created")
    event = stripe.Webhook.construct_event(body, _signature(headers), endpoint.secret)
    assert event.data.object.id == platform_cus.id, "the connected account's customer is not delivered here"
    assert getattr(event, "account", None) is None

    headers, body = receiver.wait_for("application_fee.created")
    fee_event = stripe.Webhook.construct_event(body, _signature(headers), endpoint.secret)
    assert fee_event.data.object.amount == 300
    assert fee_event.data.object.account == acct


def test_trigger_helper_delivers_a_signed_event(platform, receiver):
    endpoint = stripe.WebhookEndpoint.create(
        api_key=platform.api_key, url=receiver.url, enabled_events=["*"], connect=True
    )
    acct = platform.onboarded_account()
    resp = platform.raw("POST", "/v1/test_helpers/trigger", data={"event": "charge.refunded"}, account=acct)
    assert resp.status_code == 200, resp.text
    headers, body = receiver.wait_for("charge.refunded")
    event = stripe.Webhook.construct_event(body, _signature(headers), endpoint.secret)
    assert event.account == acct
    assert event.data.object.object == "charge"
