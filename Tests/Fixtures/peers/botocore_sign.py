#!/usr/bin/env python3
"""Signs requests with botocore, as an independent SigV4 oracle for the tests.

Reads a JSON list of requests on stdin:
  {"method", "url", "headers": [[name, value], ...], "body", "region", "service",
   "access_key", "secret_key", "token"?, "amz_date": "YYYYMMDDTHHMMSSZ", "s3": bool}
and prints a JSON list of {"canonical_request", "string_to_sign", "signature"}.
The signing time is fixed by setting the request context botocore reads, not the clock.
"""
import json
import sys

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

results = []
for case in json.load(sys.stdin):
    credentials = Credentials(case["access_key"], case["secret_key"], case.get("token"))
    auth_class = S3SigV4Auth if case.get("s3") else SigV4Auth
    auth = auth_class(credentials, case["service"], case["region"])
    request = AWSRequest(method=case["method"], url=case["url"], data=case["body"].encode(), headers=dict(case["headers"]))
    request.context["timestamp"] = case["amz_date"]
    request.headers["X-Amz-Date"] = case["amz_date"]
    if case.get("token"):
        request.headers["X-Amz-Security-Token"] = case["token"]
    if case.get("s3"):
        request.headers["X-Amz-Content-SHA256"] = auth.payload(request)
    canonical = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical)
    results.append({
        "canonical_request": canonical,
        "string_to_sign": string_to_sign,
        "signature": auth.signature(string_to_sign, request),
    })
json.dump(results, sys.stdout)
