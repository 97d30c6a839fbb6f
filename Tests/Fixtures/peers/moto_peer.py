#!/usr/bin/env python3
"""moto (a real AWS emulator) on an ephemeral loopback port for the AWS tests.

Prints the bound port on the first line, serves every moto service on it, and exits when
the test process that started it goes away. Signature checking starts off; the tests
bootstrap an IAM user and then switch it on through POST /moto-api/reset-auth.
"""
import os
import sys
import threading
import time

os.environ.setdefault("INITIAL_NO_AUTH_ACTION_COUNT", "inf")
for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(name, None)

from moto.server import ThreadedMotoServer  # noqa: E402

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server._server.server_port, flush=True)
parent = os.getppid()
while os.getppid() == parent:
    time.sleep(0.5)
server.stop()
sys.exit(0)
