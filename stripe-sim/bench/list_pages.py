#!/usr/bin/env python3
"""Time reads on a store with a long history (a figure, not a test).

Usage: stripe-sim/bench/list_pages.py STRIPE_SIM_BINARY [CUSTOMERS=20000]

Starts the binary on a free loopback port (memory only), creates CUSTOMERS customers and
CUSTOMERS/4 card payments through the API (8 concurrent clients), then prints the mean time of 20
requests for a first page of customers, of events, of a filtered list that matches nothing
(which has to read every customer), and of the balance (two balance transactions per payment).
"""
import base64
import json
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) == 3 else 20000
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sim = subprocess.Popen([binary, "--addr", f"127.0.0.1:{port}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    auth = "Basic " + base64.b64encode(b"sk_test_list_pages:").decode()

    def call(method: str, path: str, data: str | None = None) -> dict:
        req = urllib.request.Request(base + path, data=data.encode() if data else None,
                                     method=method, headers={"Authorization": auth})
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())

    try:
        for _ in range(100):
            try:
                call("GET", "/v1/balance")
                break
            except OSError:
                time.sleep(0.1)
        pay = ("amount=1000&currency=usd&payment_method=pm_card_visa"
               "&payment_method_types[]=card&confirm=true")
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda i: call("POST", "/v1/customers", f"name=c{i}"), range(n)))
            list(ex.map(lambda i: call("POST", "/v1/payment_intents", pay), range(n // 4)))
        print(f"{n} customers, {n // 4} payments")
        for path in ("/v1/customers?limit=100", "/v1/events?limit=100",
                     "/v1/customers?limit=10&email=nobody@example.com", "/v1/balance"):
            start, k = time.perf_counter(), 20
            for _ in range(k):
                call("GET", path)
            print(f"{path:50} {(time.perf_counter() - start) / k * 1000:8.1f} ms per page")
    finally:
        sim.terminate()
        sim.wait()


if __name__ == "__main__":
    main()
