"""Connect onboarding through Account Links and the emulator's hosted onboarding page."""

import stripe

from simpages import forms_of, submit

RETURN_URL = "http://localhost:9/seller/onboarding/return"
REFRESH_URL = "http://localhost:9/seller/onboarding/refresh"


def _link(platform, acct, kind="account_onboarding"):
    return stripe.AccountLink.create(
        api_key=platform.api_key, account=acct, type=kind, return_url=RETURN_URL, refresh_url=REFRESH_URL
    )


def test_hosted_onboarding_completes_and_returns(platform, http):
    acct = platform.account(email="seller@example.com")
    assert acct.object == "account"
    assert acct.charges_enabled is False
    assert acct.details_submitted is False
    assert acct.requirements.currently_due, "a new express account has requirements due"

    link = _link(platform, acct.id)
    assert link.object == "account_link"
    assert link.expires_at > link.created

    page = http.get(link.url, allow_redirects=False)
    assert page.status_code == 200, page.text
    assert "text/html" in page.headers["Content-Type"]
    forms = forms_of(link.url, page.text)
    assert len(forms) == 1, forms
    done = submit(http, forms[0])
    assert done.status_code in (302, 303), done.text
    assert done.headers["Location"].startswith(RETURN_URL)

    after = stripe.Account.retrieve(acct.id, api_key=platform.api_key)
    assert after.details_submitted is True
    assert after.charges_enabled is True
    assert after.payouts_enabled is True
    assert not after.requirements.currently_due

    # A used link sends the seller to refresh_url, where the app makes a new one.
    again = http.get(link.url, allow_redirects=False)
    assert again.status_code in (302, 303)
    assert again.headers["Location"].startswith(REFRESH_URL)


def test_expired_link_redirects_to_refresh_url(platform, http):
    acct = platform.account()
    link = _link(platform, acct.id)
    advanced = platform.raw("POST", "/v1/test_helpers/advance_time", data={"seconds": 3600})
    assert advanced.status_code == 200, advanced.text
    page = http.get(link.url, allow_redirects=False)
    assert page.status_code in (302, 303), page.text
    assert page.headers["Location"].startswith(REFRESH_URL)
    assert stripe.Account.retrieve(acct.id, api_key=platform.api_key).details_submitted is False


def test_onboarding_emits_account_updated(platform):
    acct = platform.onboarded_account()
    events = stripe.Event.list(api_key=platform.api_key, stripe_account=acct, type="account.updated")
    assert any(e.data.object.id == acct for e in events.data), [e.type for e in events.data]


def test_login_link_for_an_onboarded_express_account(platform, http):
    acct = platform.onboarded_account()
    login = stripe.Account.create_login_link(acct, api_key=platform.api_key)
    assert login.object == "login_link"
    assert http.get(login.url, allow_redirects=False).status_code == 200


def test_account_update_and_list(platform):
    acct = platform.account(metadata={"seller_id": "sel_9"})
    updated = stripe.Account.modify(acct.id, api_key=platform.api_key, metadata={"tier": "gold"})
    assert updated.metadata["seller_id"] == "sel_9"
    assert updated.metadata["tier"] == "gold"
    listed = stripe.Account.list(api_key=platform.api_key)
    assert [a.id for a in listed.data] == [acct.id]
