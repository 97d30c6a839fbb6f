#!/usr/bin/env python3
"""A real CEL implementation (PyPI's cel-python) as the peer of the embedded API server's CEL subset.

Reads {"cases": [{"rule": "...", "self": <JSON>}, ...]} on stdin and prints one JSON list: per case
true or false, or {"error": "..."} when the rule does not compile or evaluate (kube-apiserver refuses
the object then). `self` is bound as Kubernetes binds it for x-kubernetes-validations.
"""
import json
import sys

import celpy

cases = json.load(sys.stdin)["cases"]
environment = celpy.Environment()
verdicts = []
for case in cases:
    try:
        program = environment.program(environment.compile(case["rule"]))
        result = program.evaluate({"self": celpy.json_to_cel(case["self"])})
        if isinstance(result, Exception):
            verdicts.append({"error": str(result)})
        else:
            verdicts.append(bool(result))
    except Exception as error:  # noqa: BLE001 - every failure is a verdict for the caller
        verdicts.append({"error": f"{type(error).__name__}: {error}"})
print(json.dumps(verdicts))
