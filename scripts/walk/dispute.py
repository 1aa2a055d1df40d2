#!/usr/bin/env python3
"""A buyer pays with the card that disputes; the seller answers the dispute in the browser."""
import os, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from journeys import BASE, login, shot, hosted_card
from playwright.sync_api import sync_playwright

buyer = "demo-buyer@example.com"
seller = os.environ.get("SELLER", "tidewater-pottery@example.com")
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(page, buyer)
    page.goto(BASE + "/cards")
    page.click("form[action='/cards/add'] button[type=submit]")
    page.wait_for_load_state()
    hosted_card(page, "4000 0000 0000 0259")
    page.goto(BASE + "/search?q=mug")
    page.click("a[href^='/products/']")
    page.click("form[action='/cart/add'] button[type=submit]")
    page.wait_for_load_state()
    page.goto(BASE + "/cart")
    page.check("label:has-text('ending in 0259') input[name=card_id]")
    page.click("form[action='/checkout'] button[type=submit]")
    page.wait_for_load_state()
    shot(page, "disputed-order-paid")
    s = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    login(s, seller)
    for _ in range(30):
        s.goto(BASE + "/seller/disputes")
        if s.locator("a[href^='/seller/disputes/']").count():
            break
        time.sleep(1)
    shot(s, "seller-disputes-list")
    s.click("a[href^='/seller/disputes/']")
    s.wait_for_load_state()
    shot(s, "seller-dispute-form")
    for el in s.locator("form[action$='/evidence'] textarea, form[action$='/evidence'] input[type=text]").all():
        el.fill("Shipped 2026-12-02 with tracking 1Z999; the buyer confirmed delivery by email.")
    s.click("form[action$='/evidence'] button[type=submit]")
    s.wait_for_load_state()
    shot(s, "seller-dispute-answered")
    a = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(a, "demo-admin@example.com")
    a.goto(BASE + "/admin/disputes")
    shot(a, "admin-disputes-after")
    browser.close()
