#!/usr/bin/env python3
"""Trains a forecaster per trace and horizon and tabulates test MAE against the baselines.

  python3 docs/trace_report.py [--forescale .build/release/forescale] [--recipe "--features advanced"] [--horizons 1,12]

Every number comes from `forescale train --json` (chronological 70/15/15 split, metrics on
the test part, baselines on the same windows and step).
"""
import argparse
import glob
import json
import os
import subprocess

parser = argparse.ArgumentParser()
parser.add_argument("--forescale", default=".build/release/forescale")
parser.add_argument("--recipe", default="", help="extra train options; default: the default recipe")
parser.add_argument("--horizons", default="1,12")
args = parser.parse_args()

rows = []
for path in sorted(glob.glob("examples/data/*.csv")):
    for horizon in [int(h) for h in args.horizons.split(",")]:
        command = [args.forescale, "train", "--data", path, "--horizon", str(horizon), "--json"] + args.recipe.split()
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            rows.append((os.path.basename(path), horizon, "error: " + result.stderr.strip()[:80]))
            continue
        report = json.loads(result.stdout)
        at = report.get("at_horizon", {"mae": report["mae"], "baselines": report["baselines"]})
        base = at["baselines"]
        best_baseline = min(base, key=lambda k: base[k]["mae"])
        rows.append((os.path.basename(path), horizon, at["mae"], base["naive"]["mae"], base["seasonal_naive"]["mae"],
                     base["holt_winters"]["mae"], at["mae"] < min(b["mae"] for b in base.values()), best_baseline, report["epochs"]))
        print(rows[-1], flush=True)

print()
print("| trace | step | LSTM MAE | naive | seasonal naive | Holt-Winters | LSTM best? | epochs |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for row in rows:
    if len(row) == 3:
        print(f"| {row[0]} | {row[1]} | {row[2]} | | | | | |")
        continue
    name, horizon, model, naive, seasonal, hw, best, best_baseline, epochs = row
    verdict = "yes" if best else f"no ({best_baseline})"
    print(f"| {name} | {horizon} | {model:.3f} | {naive:.3f} | {seasonal:.3f} | {hw:.3f} | {verdict} | {epochs} |")
