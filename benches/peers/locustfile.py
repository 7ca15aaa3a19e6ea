"""Locust's side of the peer benchmark (scripts/bench-peers.sh).

One FastHttpUser (geventhttpclient, Locust's fastest client) repeating one request against the
benchmark's nginx, with the host, users and run time from Locust's own flags:

    locust -f benches/peers/locustfile.py --headless --host http://127.0.0.1:PORT \
        -u 50 -r 50 -t 15s --csv target/peers/locust --only-summary

Environment:
  LOCUST_USER_RATE  requests per second of each user (Locust's constant_throughput); unset or 0:
                    no wait at all, each user sends its next request as soon as the last one
                    answered (saturation). The script sets it to the fixed rate / users.
  LOCUST_ROUTE      `get` (default): GET /; `status`: POST /v1/terminals/{issi}/status with
                    API v1's JSON body, the route rcload's status action uses.
  LOCUST_ISSI       the terminal of the status route (default 16000001, outside rcload's
                    population so that it never collides with a run's own terminals).
"""

import os

from locust import FastHttpUser, constant, constant_throughput, task

RATE = float(os.environ.get("LOCUST_USER_RATE", "0") or 0)
ROUTE = os.environ.get("LOCUST_ROUTE", "get")
ISSI = int(os.environ.get("LOCUST_ISSI", "16000001"))
if ROUTE not in ("get", "status"):
    raise SystemExit(f"LOCUST_ROUTE must be get or status, not {ROUTE!r}")
STATUS_PATH = f"/v1/terminals/{ISSI}/status"
STATUS_BODY = {"code": 7, "ref": "r1"}


class Peer(FastHttpUser):
    # constant_throughput(r): each user paces itself to r task runs per second (a closed
    # model: a late answer delays the next request, it is never sent on time).
    wait_time = constant_throughput(RATE) if RATE > 0 else constant(0)

    if ROUTE == "get":

        @task
        def get_root(self):
            self.client.get("/", name="GET /")

    else:

        @task
        def post_status(self):
            self.client.post(STATUS_PATH, json=STATUS_BODY, name="POST status")
