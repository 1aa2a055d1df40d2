#!/usr/bin/env python3
"""The journeys of scripts/walk-journeys (run that): BASE and DATA_DIR name a running app seeded
with seed-demo; every page is screenshotted to OUT. Stops with a traceback at the first failure."""
import glob, os, re, time, email
from email import policy
from playwright.sync_api import sync_playwright

BASE = os.environ.get("BASE", "http://127.0.0.1:8080")
DATA = os.environ["DATA_DIR"]
OUT = os.environ.get("OUT", "/tmp/walk/shots")
os.makedirs(OUT, exist_ok=True)
PW = "demo-password-2026"
n = [0]


def shot(page, name, mobile=False):
    n[0] += 1
    path = f"{OUT}/{n[0]:02d}-{name}.png"
    page.screenshot(path=path, full_page=True)
    print("  shot", path, "|", page.url)


def mail_link(to, needle):
    deadline = time.time() + 20
    while time.time() < deadline:
        for f in sorted(glob.glob(f"{DATA}/outbox/*"), key=os.path.getmtime, reverse=True):
            msg = email.message_from_bytes(open(f, "rb").read(), policy=policy.default)
            if to not in str(msg["To"]):
                continue
            body = msg.get_body(preferencelist=("plain",)).get_content()
            m = re.search(r"https?://\S*" + re.escape(needle) + r"\S*", body)
            if m:
                return m.group(0)
        time.sleep(0.5)
    raise SystemExit(f"no mail to {to} with {needle}")


def login(page, who):
    page.goto(f"{BASE}/login")
    page.fill("input[name=email]", who)
    page.fill("input[name=password]", PW)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()


def logout(page):
    page.context.clear_cookies()


def hosted_card(page, number):
    page.fill("input[name=number]", number)
    page.fill("input[name=expiry]", "12/30")
    page.fill("input[name=cvc]", "123")
    shot(page, "hosted-card-page")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    shot(page, "after-card-page")
    approve = page.locator("form:has(input[name=result][value=approve]) button")
    if approve.count():
        approve.click()
        page.wait_for_load_state()
        shot(page, "after-card-3ds")


def main():
    stamp = int(time.time())
    buyer = f"walker{stamp}@example.com"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        desk = browser.new_context(viewport={"width": 1280, "height": 900})
        page = desk.new_page()
        errors = []
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)

        print("== buyer: sign up, verify, find, save card, pay, 3-D Secure")
        page.goto(BASE + "/")
        shot(page, "home")
        page.goto(BASE + "/signup")
        page.check("input[name=role][value=buyer]")
        page.fill("input[name=email]", buyer)
        page.fill("input[name=password]", PW)
        page.click("form[action='/signup'] button[type=submit]")
        page.wait_for_load_state()
        shot(page, "signup-check-inbox")
        page.goto(mail_link(buyer, "/email/verify"))
        shot(page, "verified")
        login(page, buyer)
        page.goto(BASE + "/search?q=mug")
        shot(page, "search-mug")
        page.click("a[href^='/products/']")
        page.wait_for_load_state()
        shot(page, "product")
        page.fill("input[name=quantity]", "2")
        page.click("form[action='/cart/add'] button[type=submit]")
        page.wait_for_load_state()
        page.goto(BASE + "/cart")
        shot(page, "cart-no-card")
        page.click("form[action='/cards/add'] button[type=submit]")
        page.wait_for_load_state()
        hosted_card(page, "4242 4242 4242 4242")
        shot(page, "back-from-card-page")
        page.goto(BASE + "/cart")
        shot(page, "cart-with-card")
        page.click("form[action='/checkout'] button[type=submit]")
        page.wait_for_load_state()
        shot(page, "order-paid")
        assert "/orders/" in page.url, page.url

        # A second order with a card that asks for 3-D Secure.
        page.goto(BASE + "/cards")
        page.click("form[action='/cards/add'] button[type=submit]")
        page.wait_for_load_state()
        hosted_card(page, "4000 0025 0000 3155")
        page.goto(BASE + "/search?q=scarf")
        page.click("a[href^='/products/']")
        page.click("form[action='/cart/add'] button[type=submit]")
        page.wait_for_load_state()
        page.goto(BASE + "/cart")
        page.check("label:has-text('ending in 3155') input[name=card_id]")
        page.click("form[action='/checkout'] button[type=submit]")
        page.wait_for_load_state()
        shot(page, "3ds-challenge")
        page.click("form:has(input[name=result][value=approve]) button")
        page.wait_for_load_state()
        shot(page, "after-3ds")
        page.goto(BASE + "/orders")
        shot(page, "buyer-orders")

        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        ph = phone.new_page()
        login(ph, buyer)
        for path in ["/", "/cart", "/orders", "/cards"]:
            ph.goto(BASE + path)
            shot(ph, "phone" + path.replace("/", "-"))
        ph.click("a[href^='/orders/ord']") if ph.locator("a[href^='/orders/ord']").count() else None
        shot(ph, "phone-order")

        print("== seller: sees the order with its fee")
        seller = os.environ.get("SELLER")
        if seller:
            s = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            login(s, seller)
            s.goto(BASE + "/seller/orders")
            shot(s, "seller-orders")
            s.click("a[href^='/seller/orders/']")
            s.wait_for_load_state()
            shot(s, "seller-order")
            s.goto(BASE + "/seller/disputes")
            shot(s, "seller-disputes")

        print("== admin: finds the order, previews and issues a partial refund")
        a = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        a.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        login(a, os.environ.get("ADMIN", "admin@demo.example"))
        a.goto(BASE + "/admin")
        shot(a, "admin-overview")
        a.goto(BASE + f"/admin/orders?buyer={buyer}")
        shot(a, "admin-orders")
        a.click("a[href^='/admin/orders/']")
        a.wait_for_load_state()
        shot(a, "admin-order")
        amount = a.locator("input[name=amount]")
        if amount.count():
            amount.first.fill("5.00")
            a.locator("input[name=amount]").first.press("Enter")
            a.wait_for_load_state()
            shot(a, "admin-refund-preview")
            btn = a.locator("form[action$='/refunds'] button[type=submit]")
            if btn.count():
                btn.last.click()
                a.wait_for_load_state()
                shot(a, "admin-refund-done")
        for path in ["/admin/disputes", "/admin/events", "/admin/fees", "/admin/sellers", "/admin/audit", "/admin/mail"]:
            a.goto(BASE + path)
            shot(a, "admin" + path.replace("/", "-"))
        ap = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
        login(ap, os.environ.get("ADMIN", "admin@demo.example"))
        for path in ["/admin", "/admin/orders", "/admin/events", "/admin/fees"]:
            ap.goto(BASE + path)
            shot(ap, "phone-admin" + path.replace("/", "-"))
        print("5xx seen:", errors or "none")
        browser.close()


if __name__ == "__main__":
    main()
