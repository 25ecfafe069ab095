#!/usr/bin/env python3
"""An independent PyTorch run of the protocol (PROTOCOL.md sections 2-6) for naive fine-tuning and
LwF on the MNIST family, `small` preset, `global` head: a second implementation to compare with
regimebench's results statistically (PROTOCOL section 7), never bit for bit.

It shares nothing with the Rust code but the protocol's text and the class orders, which it reads
from regimebench's committed results (`class_order` of a result of the same dataset and order), so
that both implementations split the classes into the same tasks. Its own RNG draws the init and the
shuffles.

    python3 scripts/reference_protocol.py --data ../shared/data/mnist \\
        --results docs/results/mnist --regimes R1,R2 --methods naive,lwf --orders 0-10 \\
        --out docs/reference/mnist-r1-r2.json

Needs torch and numpy (a venv outside the repository). Prints one line per run and, at the end,
mean and std of ACC and forgetting per (regime, method) beside regimebench's from --results.
"""
import argparse
import glob
import gzip
import json
import math
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

GROUPS = ["conv1", "conv2", "conv3", "fc", "head"]
REGIMES = {f"R{d}": GROUPS[5 - d:] for d in range(1, 6)}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(dir_):
    def one(stem):
        return read_idx(glob.glob(f"{dir_}/{stem}*")[0])
    xtr, ytr = one("train-images"), one("train-labels")
    xte, yte = one("t10k-images"), one("t10k-labels")
    x = xtr.astype(np.float64) / 255.0
    mean, std = x.mean(), x.std()  # whole train file, f64, population std
    norm = lambda a: torch.tensor(((a.astype(np.float64) / 255.0 - mean) / std), dtype=torch.float32).unsqueeze(1)
    return norm(xtr), torch.tensor(ytr.astype(np.int64)), norm(xte), torch.tensor(yte.astype(np.int64))


class Small(torch.nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = torch.nn.Conv2d(32, 64, 3, padding=1)
        self.fc = torch.nn.Linear(576, 128)
        self.head = torch.nn.Linear(128, classes)
        for m in [self.conv1, self.conv2, self.conv3, self.fc]:
            fan_in = m.weight[0].numel()
            bound = math.sqrt(2.0) * math.sqrt(3.0 / fan_in)  # Kaiming uniform, gain sqrt(2)
            torch.nn.init.uniform_(m.weight, -bound, bound)
            torch.nn.init.zeros_(m.bias)
        bound = 1.0 / math.sqrt(128)
        torch.nn.init.uniform_(self.head.weight, -bound, bound)
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, x):
        for c in [self.conv1, self.conv2, self.conv3]:
            x = F.max_pool2d(F.relu(c(x)), 2)
        return self.head(F.relu(self.fc(x.flatten(1))))


def accuracy(net, x, y, classes):
    with torch.no_grad():
        z = torch.cat([net(x[i:i + 1000]) for i in range(0, len(x), 1000)])
    cols = torch.tensor(classes)
    pred = cols[z[:, cols].argmax(1)]  # arg-max over the task's own outputs
    return (pred == y).double().mean().item()


def kd(z, z_old, tasks, alpha, temp):
    """alpha T^2 (1/B) sum_n sum_(old tasks) KL(softmax(z_old/T) || softmax(z/T)), per old task's k outputs."""
    total = 0.0
    for cls in tasks:
        c = torch.tensor(cls)
        q = F.log_softmax(z_old[:, c] / temp, 1)
        p = F.log_softmax(z[:, c] / temp, 1)
        total = total + (q.exp() * (q - p)).sum(1).mean()
    return alpha * temp * temp * total


def run(data, order_classes, regime, method, seed, lr=0.05, batch=64, k=2):
    xtr, ytr, xte, yte = data
    torch.manual_seed(seed)
    net = Small(10)
    tasks = [order_classes[t * k:(t + 1) * k] for t in range(len(order_classes) // k)]
    theta = [torch.cat([p.detach().flatten() for p in net.parameters()])]
    acc = []
    for t, cls in enumerate(tasks):
        groups = GROUPS if t == 0 else REGIMES[regime]
        for name in GROUPS:
            for p in getattr(net, name).parameters():
                p.requires_grad_(name in groups)
        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.SGD(params, lr=lr)
        old = None
        if method == "lwf" and t > 0:
            old = Small(10)
            old.load_state_dict(net.state_dict())
            old.eval()
        idx = torch.nonzero(sum(ytr == c for c in cls)).flatten()
        perm = idx[torch.randperm(len(idx))]
        for s in range(0, len(perm), batch):
            b = perm[s:s + batch]
            z = net(xtr[b])
            loss = F.cross_entropy(z, ytr[b])
            if old is not None:
                with torch.no_grad():
                    z_old = old(xtr[b])
                loss = loss + kd(z, z_old, tasks[:t], 1.0, 2.0)
            if not torch.isfinite(loss):
                raise RuntimeError(f"loss {loss.item()} at task {t + 1}")
            opt.zero_grad()
            loss.backward()
            opt.step()
        theta.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
        acc.append([accuracy(net, xte[sum(yte == c for c in cj).bool()], yte[sum(yte == c for c in cj).bool()], cj)
                    for cj in tasks])
    T = len(tasks)
    acc_final = sum(acc[T - 1]) / T
    forget = statistics.mean(max(acc[l][j] for l in range(j, T - 1)) - acc[T - 1][j] for j in range(T - 1))
    u = (theta[T] - theta[1]).norm().item()
    return {"acc": acc_final, "forgetting": forget, "U": u, "A": acc}


def ours(results, regime, method, order):
    for f in glob.glob(f"{results}/*.json"):
        j = json.load(open(f))
        c = j.get("config", {})
        if (c.get("train", {}).get("regime", {}).get("name"), c.get("method", {}).get("name"), c.get("order")) == (regime, method, order) \
                and c["train"]["head"] == "global" and c.get("train_per_task") is None and "summary" in j:
            return j
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--regimes", default="R1,R2")
    ap.add_argument("--methods", default="naive,lwf")
    ap.add_argument("--orders", default="0-10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.set_num_threads(1)
    lo, _, hi = a.orders.partition("-")
    orders = range(int(lo), int(hi or lo) + 1)
    data = load(a.data)
    rows = []
    for regime in a.regimes.split(","):
        for method in a.methods.split(","):
            for o in orders:
                mine = ours(a.results, regime, method, o)
                if mine is None:
                    raise SystemExit(f"no regimebench result for {regime} {method} order {o} in {a.results}")
                started = time.time()
                r = run(data, mine["class_order"], regime, method, a.seed)
                r.update(regime=regime, method=method, order=o,
                         ours_acc=mine["summary"]["acc"], ours_forgetting=mine["summary"]["forgetting"]["mean"])
                rows.append(r)
                print(f"{regime} {method} order {o}: torch ACC {100 * r['acc']:.1f} F {100 * r['forgetting']:.1f} "
                      f"U {r['U']:.2f} | regimebench ACC {100 * r['ours_acc']:.1f} F {100 * r['ours_forgetting']:.1f} "
                      f"({time.time() - started:.0f} s)", flush=True)
    print("\nregime method  n  torch ACC (std) / F   regimebench ACC (std) / F")
    for regime in a.regimes.split(","):
        for method in a.methods.split(","):
            rs = [r for r in rows if (r["regime"], r["method"]) == (regime, method)]
            m = lambda key: 100 * statistics.mean(r[key] for r in rs)
            sd = lambda key: 100 * statistics.stdev(r[key] for r in rs) if len(rs) > 1 else 0.0
            print(f"{regime} {method:6} {len(rs):2}  {m('acc'):.1f} ({sd('acc'):.1f}) / {m('forgetting'):.1f}"
                  f"   {m('ours_acc'):.1f} ({sd('ours_acc'):.1f}) / {m('ours_forgetting'):.1f}")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"torch": torch.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
