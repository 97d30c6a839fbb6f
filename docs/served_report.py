#!/usr/bin/env python3
"""What the trainer would serve on each trace, against every baseline, at one horizon step.

  python3 docs/served_report.py [--forescale .build/release/forescale] [--horizon 12] [--recipe "..."]

Per trace in examples/data: `forescale train --select` with the controller's recipe (one
32-unit LSTM layer, p50/p80/p90, advanced features, 25 epochs; chronological 70/15/15 split)
picks among the LSTM, the classical forecasters and their combinations by the error at the
horizon's last step on rolling origins of the validation part (the simplest within 2 % of the best); `forescale evaluate --step H` then forecasts from up to 200 origins of the
test part with only the rows before each, as the controller does, and scores the served
forecaster's median and every classical forecaster (fitted on the rows before the first
origin) on the same origins. Every number printed comes from those two commands.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import tempfile

parser = argparse.ArgumentParser()
parser.add_argument("--forescale", default=".build/release/forescale")
parser.add_argument("--horizon", type=int, default=12)
parser.add_argument(
    "--recipe",
    default="--features advanced --quantiles 0.5,0.8,0.9 --hidden 32 --layers 1 --head 32 --epochs 25",
    help="train options besides --data, --horizon, --select and --out",
)
args = parser.parse_args()

rows = []
with tempfile.TemporaryDirectory() as scratch:
    for path in sorted(glob.glob("examples/data/*.csv")):
        name = os.path.basename(path)
        model = os.path.join(scratch, name + ".fsm")
        train = [args.forescale, "train", "--data", path, "--horizon", str(args.horizon), "--select",
                 "--out", model, "--json"] + args.recipe.split()
        trained = subprocess.run(train, capture_output=True, text=True)
        if trained.returncode != 0:
            print(f"{name}: train failed: {trained.stderr.strip()[:200]}", flush=True)
            continue
        lstm = json.loads(trained.stdout)
        evaluate = [args.forescale, "evaluate", "--model", model, "--data", path, "--step", str(args.horizon), "--json"]
        evaluated = subprocess.run(evaluate, capture_output=True, text=True)
        if evaluated.returncode != 0:
            print(f"{name}: evaluate failed: {evaluated.stderr.strip()[:200]}", flush=True)
            continue
        served = json.loads(evaluated.stdout)["served"]
        row = {
            "trace": name, "served": served["kind"], "mae": served["mae"], "best": served["best_baseline"],
            "best_mae": served["baselines"][served["best_baseline"]]["mae"], "ratio": served["ratio_to_best_baseline"],
            "coverage": served["coverage"], "band": served.get("band_width"), "origins": served["origins"],
            "lstm_holdout_mae": lstm.get("at_horizon", lstm)["mae"],
        }
        rows.append(row)
        print(json.dumps(row), flush=True)

print()
print(f"| trace | served | served MAE at step {args.horizon} | best baseline | its MAE | ratio | p80 coverage | "
      "p80 above median (band / MAE) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for row in rows:
    print(f"| {row['trace']} | {row['served']} | {row['mae']:.4g} | {row['best']} | {row['best_mae']:.4g} | "
          f"{row['ratio']:.2f} | {row['coverage'] * 100:.0f} % | {row['band'] / row['mae']:.2f} |")
if rows:
    ratios = [row["ratio"] for row in rows]
    tied = sum(1 for ratio in ratios if ratio <= 1.02)
    print()
    print(f"best-or-tied (<= 1.02x the best baseline): {tied} of {len(rows)}; median ratio {statistics.median(ratios):.2f}")
    calibrated = sum(1 for row in rows if 0.75 <= row["coverage"] <= 0.85)
    print(f"p80 coverage within 75-85 %: {calibrated} of {len(rows)}")
