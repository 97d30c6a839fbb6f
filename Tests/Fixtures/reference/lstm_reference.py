#!/usr/bin/env python3
"""Independent NumPy reference for the forecaster's forward pass.

Writes lstm_reference.json: a flat parameter vector in Forescale's layout, an input batch
and the outputs computed here with plain NumPy (float64), following PyTorch nn.LSTM
semantics (gate order i, f, g, o; two biases; zero initial state), the last hidden state
into Linear -> ReLU -> Linear.

Layout (ParameterLayout order): for each LSTM layer W_ih (4H, I), W_hh (4H, H), b_ih (4H),
b_hh (4H); then the head Linear W (D, H), b (D); then the output Linear W (O, D), b (O).
All matrices row-major.

Regenerate: python3 lstm_reference.py  (numpy only; seed fixed)
"""
import json

import numpy as np

rng = np.random.default_rng(20261129)
INPUT, HIDDEN, LAYERS, HEAD, OUTPUTS = 3, 5, 2, 4, 2
STEPS, BATCH = 6, 3


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


params = []
layers = []
for layer in range(LAYERS):
    inp = INPUT if layer == 0 else HIDDEN
    w_ih = rng.uniform(-0.6, 0.6, (4 * HIDDEN, inp))
    w_hh = rng.uniform(-0.6, 0.6, (4 * HIDDEN, HIDDEN))
    b_ih = rng.uniform(-0.3, 0.3, 4 * HIDDEN)
    b_hh = rng.uniform(-0.3, 0.3, 4 * HIDDEN)
    layers.append((w_ih, w_hh, b_ih, b_hh))
    params += [w_ih.ravel(), w_hh.ravel(), b_ih, b_hh]
w1 = rng.uniform(-0.5, 0.5, (HEAD, HIDDEN))
b1 = rng.uniform(-0.2, 0.2, HEAD)
w2 = rng.uniform(-0.5, 0.5, (OUTPUTS, HEAD))
b2 = rng.uniform(-0.2, 0.2, OUTPUTS)
params += [w1.ravel(), b1, w2.ravel(), b2]

x = rng.uniform(-1, 1, (STEPS, BATCH, INPUT))  # time-major, as Forescale feeds it

sequence = x
for w_ih, w_hh, b_ih, b_hh in layers:
    h = np.zeros((BATCH, HIDDEN))
    c = np.zeros((BATCH, HIDDEN))
    outputs = []
    for t in range(STEPS):
        gates = sequence[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i = sigmoid(gates[:, 0:HIDDEN])
        f = sigmoid(gates[:, HIDDEN:2 * HIDDEN])
        g = np.tanh(gates[:, 2 * HIDDEN:3 * HIDDEN])
        o = sigmoid(gates[:, 3 * HIDDEN:4 * HIDDEN])
        c = f * c + i * g
        h = o * np.tanh(c)
        outputs.append(h)
    sequence = np.stack(outputs)
head = np.maximum(0, sequence[-1] @ w1.T + b1)
y = head @ w2.T + b2

json.dump({
    "network": {"inputSize": INPUT, "hiddenSize": HIDDEN, "layers": LAYERS, "headSize": HEAD, "outputs": OUTPUTS},
    "steps": STEPS, "batch": BATCH,
    "parameters": np.concatenate(params).tolist(),
    "input": x.ravel().tolist(),
    "output": y.ravel().tolist(),
}, open("lstm_reference.json", "w"), indent=1)
print("wrote lstm_reference.json:", len(np.concatenate(params)), "parameters")
