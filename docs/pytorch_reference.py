#!/usr/bin/env python3
"""The prototype recipe in PyTorch, on exactly the split `forescale train` uses — to tell a
difference of implementation from a difference of recipe, split or seed.

  python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch numpy pandas
  /tmp/torch/bin/python docs/pytorch_reference.py [--features basic|advanced] [--seed 42]

Same data (examples/data/seed_multi_metric_data.csv), features (the prototype's four, or its
"advanced" set built as FeatureBuilder builds it), min-max scaler fit on the first 70 % of
rows, windows of 24 rows whose target is the next row, split by the target's row
(70/15/15), nn.LSTM(F, 128, 3, dropout 0.2) → last state → Linear(128, 64) → ReLU →
Dropout(0.2) → Linear(64, 1), MSE, Adam lr 5e-4, batch 64 shuffled, clip 1.0,
ReduceLROnPlateau(×0.5, patience 5), early stopping (patience 10, best weights restored),
≤ 50 epochs, 2 threads (`--threads`). No level normalisation (PyTorch's prototype had none). Prints the
test R², MAE and MAPE in CPU points, as `forescale train` does.

Not part of the build or the tests (PyTorch is not a dependency); docs/forecasting.md
quotes what it printed.
"""
import argparse
import time

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--data", default="examples/data/seed_multi_metric_data.csv")
parser.add_argument("--features", choices=["basic", "advanced"], default="basic")
parser.add_argument("--seed", type=int, default=42)
parser.add_argument("--epochs", type=int, default=50)
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()

torch.manual_seed(args.seed)
torch.set_num_threads(args.threads)
frame = pd.read_csv(args.data)
columns = ["cpu_utilization", "network_in", "request_count", "is_sale_active"]
if args.features == "advanced":
    stamps = pd.to_datetime(frame.timestamp)
    hours = stamps.dt.hour + stamps.dt.minute / 60
    weekday = stamps.dt.day_of_week
    cpu = frame.cpu_utilization
    rolling = cpu.rolling(6, min_periods=1)
    derived = {
        "hour": stamps.dt.hour, "day_of_week": weekday, "is_weekend": (weekday >= 5).astype(float),
        "is_business_hours": ((hours >= 9) & (hours < 17) & (weekday < 5)).astype(float),
        "time_of_day": np.select([hours < 6, hours < 12, hours < 18], [0, 1, 2], 3),
        "target_rolling_mean": rolling.mean(), "target_rolling_std": rolling.std(ddof=0).fillna(0),
        "target_rolling_min": rolling.min(), "target_rolling_max": rolling.max(),
        "target_rate_of_change": cpu.diff().fillna(0),
        "network_rolling_mean": frame.network_in.rolling(6, min_periods=1).mean(),
        "requests_rolling_mean": frame.request_count.rolling(6, min_periods=1).mean(),
        "sin_day": np.sin(2 * np.pi * hours / 24), "cos_day": np.cos(2 * np.pi * hours / 24),
        "sin_week": np.sin(2 * np.pi * (weekday * 24 + hours) / 168),
        "cos_week": np.cos(2 * np.pi * (weekday * 24 + hours) / 168),
    }
    for name, values in derived.items():
        frame[name] = values
    columns += list(derived)
raw = frame[columns].values.astype(np.float32)
rows, steps = len(raw), 24
train_end, validation_end = int(rows * 0.7), int(rows * 0.85)
low, high = raw[:train_end].min(0), raw[:train_end].max(0)
scaled = (raw - low) / np.where(high > low, high - low, 1)

targets = np.arange(steps, rows)  # the row each window predicts
splits = {
    "train": targets[targets + 1 <= train_end],
    "validation": targets[(targets >= train_end) & (targets + 1 <= validation_end)],
    "test": targets[targets >= validation_end],
}


def tensors(rows_predicted):
    inputs = np.stack([scaled[row - steps:row] for row in rows_predicted])
    return torch.tensor(inputs), torch.tensor(scaled[rows_predicted, 0]).unsqueeze(1)


(x_train, y_train), (x_validation, y_validation), (x_test, y_test) = (tensors(splits[name]) for name in ["train", "validation", "test"])


class Forecaster(nn.Module):
    def __init__(self, inputs):
        super().__init__()
        self.lstm = nn.LSTM(inputs, 128, 3, batch_first=True, dropout=0.2)
        self.head = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 1))

    def forward(self, x):
        output, _ = self.lstm(x)
        return self.head(output[:, -1])


model = Forecaster(len(columns))
optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=5, factor=0.5)
mse = nn.MSELoss()
best, best_state, since_best = float("inf"), None, 0
generator = torch.Generator().manual_seed(args.seed)
for epoch in range(1, args.epochs + 1):
    started = time.time()
    model.train()
    order = torch.randperm(len(x_train), generator=generator)
    losses = []
    for start in range(0, len(order), 64):
        batch = order[start:start + 64]
        optimizer.zero_grad()
        loss = mse(model(x_train[batch]), y_train[batch])
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        validation = mse(model(x_validation), y_validation).item()
    plateau.step(validation)
    if validation < best:
        best, best_state, since_best = validation, {k: v.clone() for k, v in model.state_dict().items()}, 0
    else:
        since_best += 1
    print(f"epoch {epoch}: loss {np.mean(losses):.5f} val {validation:.5f} lr {optimizer.param_groups[0]['lr']:.6f} {time.time() - started:.2f}s", flush=True)
    if since_best >= 10:
        break

model.load_state_dict(best_state)
model.eval()
with torch.no_grad():
    predicted = model(x_test).numpy()[:, 0]
span = high[0] - low[0]
predicted, actual = predicted * span + low[0], y_test.numpy()[:, 0] * span + low[0]
error = predicted - actual
r2 = 1 - (error ** 2).sum() / ((actual - actual.mean()) ** 2).sum()
nonzero = actual != 0
mape = np.abs(error[nonzero] / actual[nonzero]).mean() * 100
print(f"test ({args.features}, seed {args.seed}): R² {r2:.4f}  MAE {np.abs(error).mean():.3f}  MAPE {mape:.1f}%  (n={len(actual)})")
