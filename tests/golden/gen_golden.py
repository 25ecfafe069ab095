#!/usr/bin/env python3
"""Golden values for the PROTOCOL section 3 networks, computed by PyTorch (float32, CPU, one thread).

For each preset this writes tests/golden/small.json, tests/golden/small-global.json (the 10-way
`global` head) and tests/golden/cifar.json.gz (gzip: 13 MB of text otherwise) with the input batch, the labels, every parameter (names and layouts as the Rust
engine stores them: conv OIHW, fc/head [out, in]), the logits, the mean cross-entropy loss, its
gradient for every parameter, and the loss on the same batch after one plain SGD step (lr 0.05). Every float is a float32 value written in its shortest decimal form that
round-trips (numpy's float32 repr, ~9 significant digits instead of the 17 of a float64 repr, which
keeps the files small); parsing it as f64 and casting to f32 gives back the exact bits, which this
script checks for every number it writes.

Regenerate (venv outside the repo):
    python3 -m venv /work/venv && /work/venv/bin/pip install torch numpy
    /work/venv/bin/python tests/golden/gen_golden.py
"""

import gzip
import json
import os
import re

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
LR = 0.05
# cifar's parameters and gradients are ~1.2M floats (13 MB as text, 4.5 MB gzipped): stored gzipped.
GZIPPED = {"cifar"}

PRESETS = {
    # name: (in_channels, height/width, conv channels, fc width, k, batch, seed)
    "small": (1, 28, (16, 32, 64), 128, 2, 4, 1234),
    "cifar": (3, 32, (32, 64, 128), 256, 10, 3, 5678),
    # `small` with the `global` layout's head: one output per MNIST class, labels over all 10.
    "small-global": (1, 28, (16, 32, 64), 128, 10, 8, 2468),
}


def build_params(cin, hw, chans, fc, k, gen):
    """Parameters with PROTOCOL section 3's init (Kaiming-uniform gain sqrt(2) for conv and the hidden
    fc, U(+-1/sqrt(fan_in)) for the head), but biases drawn small and non-zero so that the bias
    paths are exercised too."""
    params = []
    c_prev = cin
    side = hw
    for i, c in enumerate(chans, start=1):
        fan_in = c_prev * 9
        bound = (6.0 / fan_in) ** 0.5  # gain sqrt(2): sqrt(2) * sqrt(3 / fan_in)
        w = (torch.rand((c, c_prev, 3, 3), generator=gen) * 2 - 1) * bound
        b = (torch.rand((c,), generator=gen) * 2 - 1) * 0.1
        params += [(f"conv{i}.w", w), (f"conv{i}.b", b)]
        c_prev = c
        side = side // 2
    flat = c_prev * side * side
    bound = (6.0 / flat) ** 0.5
    params.append(("fc.w", (torch.rand((fc, flat), generator=gen) * 2 - 1) * bound))
    params.append(("fc.b", (torch.rand((fc,), generator=gen) * 2 - 1) * 0.1))
    bound = 1.0 / fc**0.5
    params.append(("head.w", (torch.rand((k, fc), generator=gen) * 2 - 1) * bound))
    params.append(("head.b", (torch.rand((k,), generator=gen) * 2 - 1) * bound))
    return [(n, p.to(torch.float32).contiguous()) for n, p in params]


def forward(p, x):
    h = x
    for i in (1, 2, 3):
        h = F.conv2d(h, p[f"conv{i}.w"], p[f"conv{i}.b"], stride=1, padding=1)
        h = F.relu(h)
        h = F.max_pool2d(h, 2)  # floor: 7x7 -> 3x3
    h = torch.flatten(h, 1)  # (C, H, W) order
    h = F.relu(F.linear(h, p["fc.w"], p["fc.b"]))
    return F.linear(h, p["head.w"], p["head.b"])


class F32:
    """float32 values, written by `dump` as JSON numbers in their shortest round-trip decimal form:
    a flat array, or a bare number when `scalar`."""

    def __init__(self, t, scalar=False):
        self.a = t.detach().reshape(-1).cpu().numpy().astype(np.float32)
        self.scalar = scalar
        assert not scalar or self.a.size == 1

    def text(self):
        out = []
        for v in self.a:
            assert np.isfinite(v), "non-finite golden value"
            s = str(v)  # numpy: the shortest decimal that round-trips through float32
            back = np.float32(float(s))  # what an f64 parse then an f32 cast gives
            assert back == v and np.signbit(back) == np.signbit(v), (s, v)
            out.append(s)
        return out[0] if self.scalar else "[" + ",".join(out) + "]"


def floats(t):
    return F32(t)


def scalar(t):
    return F32(t, scalar=True)


def dump(obj):
    """json.dumps, with every F32 spliced in as JSON numbers."""
    raw = []

    def default(o):
        if isinstance(o, F32):
            raw.append(o)
            return f"@@F32_{len(raw) - 1}@@"
        raise TypeError(type(o))

    text = json.dumps(obj, default=default, separators=(",", ":"))
    return re.sub(r'"@@F32_(\d+)@@"', lambda m: raw[int(m.group(1))].text(), text)


def make(preset):
    cin, hw, chans, fc, k, batch, seed = PRESETS[preset]
    gen = torch.Generator().manual_seed(seed)
    named = build_params(cin, hw, chans, fc, k, gen)
    x = torch.randn((batch, cin, hw, hw), generator=gen, dtype=torch.float32)
    labels = torch.tensor([i % k for i in range(batch)], dtype=torch.int64)
    if k > 2:
        labels = torch.randint(0, k, (batch,), generator=gen)

    p = {n: t.clone().requires_grad_(True) for n, t in named}
    logits = forward(p, x)
    loss = F.cross_entropy(logits, labels)  # mean over the batch
    loss.backward()
    grads = {n: p[n].grad.detach().clone() for n, _ in named}

    with torch.no_grad():
        stepped = {n: p[n] - LR * grads[n] for n, _ in named}
        loss_after = F.cross_entropy(forward(stepped, x), labels)

    return {
        "preset": preset,
        "torch_version": torch.__version__,
        "seed": seed,
        "k": k,
        "batch": batch,
        "input_shape": [batch, cin, hw, hw],
        "x": floats(x),
        "labels": [int(v) for v in labels.tolist()],
        "params": [{"name": n, "shape": list(t.shape), "values": floats(t)} for n, t in named],
        "logits": floats(logits),
        "logits_shape": [batch, k],
        "loss": scalar(loss),
        "grads": [
            {"name": n, "shape": list(grads[n].shape), "values": floats(grads[n])} for n, _ in named
        ],
        "sgd": {"lr": LR, "loss_after": scalar(loss_after)},
    }


def write_gz(path, data):
    """Writes `data` gzipped, byte-reproducibly: no file name, mtime 0."""
    with open(path, "wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as f:
        f.write(data)


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for preset in PRESETS:
        out = make(preset)
        loss, after = out["loss"].text(), out["sgd"]["loss_after"].text()
        data = (dump(out) + "\n").encode()
        if preset in GZIPPED:
            path = os.path.join(HERE, f"{preset}.json.gz")
            write_gz(path, data)
        else:
            path = os.path.join(HERE, f"{preset}.json")
            with open(path, "wb") as f:
                f.write(data)
        size = os.path.getsize(path)
        print(f"{path}: loss {loss} -> {after}, {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
