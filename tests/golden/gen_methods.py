#!/usr/bin/env python3
"""Golden values for the methods of PROTOCOL section 5, computed by PyTorch (float32, CPU, one thread).

On the `small` network with the `global` head (10 outputs), from fixed weights and batches, this
writes tests/golden/methods.json.gz (gzip, byte-reproducible) with:

  params     every parameter (names and layouts as gen_golden.py: conv OIHW, fc/head [out, in])
  x, labels  a batch of N = 6 images (1x28x28, N(0,1)) of the task with classes [3, 7]: global
             labels from {3, 7}, and their local labels (0 for class 3, 1 for class 7)
  logits     the network's logits on x
  fisher     R2 (fc.*, head.* trainable), the task's head (the softmax over logits 3 and 7):
             expected  F_i = (1/N) sum_n sum_c q(c|x_n) (d log q(c|x_n) / d theta_i)^2
             empirical F_i = (1/N) sum_n (d log q(y_n|x_n) / d theta_i)^2
             from per-sample gradients (one autograd pass per sample and class), trainable only
  lwf        old parameters (each tensor plus 0.5 std(tensor) seeded N(0,1) noise), the old logits,
             the KD term of the old task [0, 5] (one softmax over outputs 0 and 5), alpha 1, T 2:
             alpha T^2 (1/B) sum_n KL(softmax(z_old/T) || softmax(z/T)), its gradient w.r.t. the
             logits z and w.r.t. every parameter (all trainable; the old model is frozen)
  si         three plain SGD steps (lr 0.05, all trainable, mean 10-way cross-entropy, global
             labels, the same batch): the loss at each step's start, omega_i = sum_steps -g_i delta_i
             (g the step's gradient, delta = theta_after - theta_before, both float32, summed in
             float64) and Omega_i = omega_i / (Delta_i^2 + xi), Delta = theta_3 - theta_0, xi = 0.1
  gem        R2, g = the gradient of the batch's mean 10-way cross-entropy, two memories of 5 images
             (classes {4, 9} and {1, 2}, global labels) and their mean-loss gradients g_k; the
             memories' seed is the first from GEM_SEED0 up for which some g . g_k < 0 and some v*_k
             is strictly above the bound. Q = G G^T + 1e-3 I and c = G g (float64 from the float32
             gradients), v* from quadprog (min 1/2 v^T Q v + c^T v s.t. v >= 0.5) and
             g~ = G^T v* + g (trainable entries only)

Floats are written as by gen_golden.py (float32, shortest round-trip decimal); the float64 QP
values (Q, c, v*, the dots) are written with Python's repr.

Regenerate (venv outside the repo, with quadprog too):
    python3 -m venv /work/venv && /work/venv/bin/pip install torch numpy quadprog
    /work/venv/bin/python tests/golden/gen_methods.py
"""

import os
import sys

import numpy as np
import quadprog
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_golden import build_params, dump, floats, forward, scalar, write_gz  # noqa: E402

SEED = 1357  # parameters and the batch
LWF_SEED = 2469  # the old model's noise
GEM_SEED0 = 100  # the first memory seed tried
N = 6
TASK = [3, 7]  # the batch's task: global classes of local labels 0, 1
LOCAL = [0, 1, 1, 0, 1, 0]
OLD_TASK = [0, 5]  # LwF's old task
# GEM's two memories' classes. The untrained network predicts class 4 on every input, so every
# batch's gradient is dominated by "lower logit 4": memories without class 4 agree with g (with
# {0, 5} and {1, 2}, none of 1000 seeds gave a violation with a free v*_k), one of class 4 can
# pull against it.
MEMORIES = [[4, 9], [1, 2]]
MEM_N = 5
R2 = ["fc.w", "fc.b", "head.w", "head.b"]
ALPHA, TEMP = 1.0, 2.0
SI_LR, SI_STEPS, SI_XI = 0.05, 3, np.float32(0.1)
GEM_EPS, GEM_MARGIN = 1e-3, 0.5


def named_floats(names, tensors):
    return [{"name": n, "shape": list(tensors[n].shape), "values": floats(tensors[n])} for n in names]


def fisher(p, names, x, labels):
    """Expected and empirical diagonal Fisher of the task's head over R2, from per-sample gradients."""
    trainable = [p[n] for n in R2]
    exp = {n: torch.zeros_like(p[n], dtype=torch.float64) for n in R2}
    emp = {n: torch.zeros_like(p[n], dtype=torch.float64) for n in R2}
    for i in range(x.shape[0]):
        z = forward(p, x[i : i + 1])[0]
        logq = F.log_softmax(z[TASK], dim=0)
        q = logq.detach().exp().double()
        for j in range(len(TASK)):
            gs = torch.autograd.grad(logq[j], trainable, retain_graph=True)
            for n, gr in zip(R2, gs):
                sq = gr.double() ** 2
                exp[n] += q[j] * sq
                if j == LOCAL[i]:
                    emp[n] += sq
    return (
        {n: (v / x.shape[0]).float() for n, v in exp.items()},
        {n: (v / x.shape[0]).float() for n, v in emp.items()},
    )


def kd(z, z_old):
    """alpha T^2 (1/B) sum_n KL(softmax(z_old/T) || softmax(z/T)) over OLD_TASK's outputs."""
    log_p = F.log_softmax(z[:, OLD_TASK] / TEMP, dim=1)
    log_q = F.log_softmax(z_old[:, OLD_TASK] / TEMP, dim=1)
    kl = (log_q.exp() * (log_q - log_p)).sum(dim=1)
    return ALPHA * TEMP * TEMP * kl.mean()


def lwf(named, p, x):
    gen = torch.Generator().manual_seed(LWF_SEED)
    old = {}
    for n, t in named:
        noise = torch.randn(t.shape, generator=gen, dtype=torch.float32)
        old[n] = (t + 0.5 * t.std() * noise).contiguous()
    with torch.no_grad():
        z_old = forward(old, x)
    z = forward(p, x)
    z.retain_grad()
    value = kd(z, z_old)
    names = [n for n, _ in named]
    gs = torch.autograd.grad(value, [p[n] for n in names] + [z])
    grads = dict(zip(names, gs[:-1]))
    return old, z_old, value, gs[-1], grads


def si(named, x, global_labels):
    theta = {n: t.clone() for n, t in named}
    theta0 = {n: t.clone() for n, t in named}
    omega = {n: torch.zeros_like(t, dtype=torch.float64) for n, t in named}
    losses = []
    for _ in range(SI_STEPS):
        q = {n: t.clone().requires_grad_(True) for n, t in theta.items()}
        loss = F.cross_entropy(forward(q, x), global_labels)
        gs = torch.autograd.grad(loss, [q[n] for n, _ in named])
        losses.append(loss.detach())
        for (n, _), g in zip(named, gs):
            after = theta[n] - SI_LR * g
            delta = after - theta[n]
            omega[n] += -(g.double() * delta.double())
            theta[n] = after
    big = {}
    for n, _ in named:
        d = (theta[n] - theta0[n]).double()
        big[n] = (omega[n] / (d * d + float(SI_XI))).float()
    return losses, {n: v.float() for n, v in omega.items()}, big


def r2_grad(p, x, labels):
    q = {n: t.detach().clone().requires_grad_(n in R2) for n, t in p.items()}
    loss = F.cross_entropy(forward(q, x), labels)
    gs = torch.autograd.grad(loss, [q[n] for n in R2])
    return dict(zip(R2, gs))


def flat64(g):
    return np.concatenate([g[n].detach().double().reshape(-1).numpy() for n in R2])


def gem(p, x, global_labels):
    g = r2_grad(p, x, global_labels)
    gf = flat64(g)
    for seed in range(GEM_SEED0, GEM_SEED0 + 1000):
        gen = torch.Generator().manual_seed(seed)
        mems = []
        for classes in MEMORIES:
            mx = torch.randn((MEM_N, 1, 28, 28), generator=gen, dtype=torch.float32)
            pick = torch.randint(0, len(classes), (MEM_N,), generator=gen)
            my = torch.tensor([classes[i] for i in pick.tolist()], dtype=torch.int64)
            mems.append((mx, my))
        gk = [r2_grad(p, mx, my) for mx, my in mems]
        G = np.stack([flat64(gr) for gr in gk])
        dots = G @ gf
        if not (dots < 0).any():
            continue
        Q = G @ G.T + GEM_EPS * np.eye(len(gk))
        c = G @ gf
        k = len(gk)
        v = quadprog.solve_qp(Q, -c, np.eye(k), GEM_MARGIN * np.ones(k))[0]
        if not (v > GEM_MARGIN + 1e-3).any():
            continue
        g_tilde = G.T @ v + gf
        out, at = {}, 0
        for n in R2:
            size = p[n].numel()
            out[n] = torch.from_numpy(g_tilde[at : at + size]).float().reshape(p[n].shape)
            at += size
        return {
            "seed": seed,
            "eps": GEM_EPS,
            "margin": GEM_MARGIN,
            "trainable": R2,
            "g": named_floats(R2, g),
            "memories": [
                {
                    "x": floats(mx),
                    "labels": [int(v) for v in my.tolist()],
                    "classes": classes,
                    "grads": named_floats(R2, gr),
                }
                for (mx, my), gr, classes in zip(mems, gk, MEMORIES)
            ],
            "dots": [float(d) for d in dots],
            "q": [float(v) for v in Q.reshape(-1)],
            "c": [float(v) for v in c],
            "v": [float(t) for t in v],
            "g_tilde": named_floats(R2, out),
        }
    raise RuntimeError("no memory seed gave a violation with a free dual variable")


def make():
    gen = torch.Generator().manual_seed(SEED)
    named = build_params(1, 28, (16, 32, 64), 128, 10, gen)
    names = [n for n, _ in named]
    x = torch.randn((N, 1, 28, 28), generator=gen, dtype=torch.float32)
    global_labels = torch.tensor([TASK[i] for i in LOCAL], dtype=torch.int64)
    p = {n: t.clone().requires_grad_(True) for n, t in named}
    with torch.no_grad():
        logits = forward(p, x)

    expected, empirical = fisher(p, names, x, global_labels)
    old, z_old, kd_value, kd_dz, kd_grads = lwf(named, p, x)
    losses, omega, big_omega = si(named, x, global_labels)
    gem_out = gem(p, x, global_labels)

    return {
        "preset": "small",
        "head": "global",
        "torch_version": torch.__version__,
        "seed": SEED,
        "input_shape": [N, 1, 28, 28],
        "x": floats(x),
        "task_classes": TASK,
        "local_labels": LOCAL,
        "labels": [int(v) for v in global_labels.tolist()],
        "params": named_floats(names, dict(named)),
        "logits": floats(logits),
        "fisher": {
            "trainable": R2,
            "outputs": TASK,
            "expected": named_floats(R2, expected),
            "empirical": named_floats(R2, empirical),
        },
        "lwf": {
            "seed": LWF_SEED,
            "alpha": ALPHA,
            "temperature": TEMP,
            "outputs": OLD_TASK,
            "old_params": named_floats(names, old),
            "old_logits": floats(z_old),
            "value": scalar(kd_value),
            "dz": floats(kd_dz),
            "grads": named_floats(names, kd_grads),
        },
        "si": {
            "lr": SI_LR,
            "steps": SI_STEPS,
            "xi": float(SI_XI),
            "losses": [scalar(v) for v in losses],
            "omega": named_floats(names, omega),
            "big_omega": named_floats(names, big_omega),
        },
        "gem": gem_out,
    }


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out = make()
    data = (dump(out) + "\n").encode()
    path = os.path.join(HERE, "methods.json.gz")
    write_gz(path, data)
    si_losses = " -> ".join(v.text() for v in out["si"]["losses"])
    gem_out = out["gem"]
    print(f"{path}: {len(data) / 1e6:.2f} MB of text, {os.path.getsize(path) / 1e6:.2f} MB gzipped")
    print(f"lwf value {out['lwf']['value'].text()}; si losses {si_losses}")
    print(f"gem seed {gem_out['seed']}: dots {gem_out['dots']}, v* {gem_out['v']}")


if __name__ == "__main__":
    main()
