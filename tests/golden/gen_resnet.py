#!/usr/bin/env python3
"""Golden values for the `resnet18` preset (PROTOCOL section 3) at width 8, computed by PyTorch
(float32, CPU, one thread): tests/golden/resnet18.json.gz, read by tests/golden_resnet.rs.

The network is the CIFAR-style ResNet-18 written out with torch.nn.functional (stem conv 3x3 + BN +
ReLU, four stages of two BasicBlocks, 1x1-conv + BN shortcuts where the stride or width changes,
global average pooling, a linear head), under the Rust engine's names (`conv1.w`, `bn1.{w,b}`,
`layer{s}.{b}.{conv1,bn1,conv2,bn2}.*`, `layer{2,3,4}.0.shortcut.{conv,bn}.*`, `head.{w,b}`;
buffers `*.running_mean`, `*.running_var`). Batch norm's parameters and running statistics are
drawn away from their init (gamma U(0.5, 1.5), beta U(-0.2, 0.2), running mean U(-0.2, 0.2),
running variance U(0.5, 1.5)) so that every term of both modes is exercised.

Recorded: the input batch and labels, every parameter and buffer; in evaluation mode (running
statistics) the logits and mean cross-entropy loss; in training mode (batch statistics) the logits,
loss, every parameter's gradient (torch's float32 ones, and `grads_f64`: the same computation in
float64, rounded to float32), every buffer after that one forward (momentum 0.1, unbiased
variance); and the training-mode loss after one plain SGD step (lr 0.05) taken with the float64
gradients, with the buffers as they were after the first forward.

Regenerate (venv outside the repo): /work/venv/bin/python tests/golden/gen_resnet.py
"""

import os

import torch
import torch.nn.functional as F

from gen_golden import HERE, LR, dump, floats, scalar, write_gz

WIDTH, BATCH, K, CHW, SEED = 8, 8, 10, (3, 32, 32), 4321
EPS, MOMENTUM = 1e-5, 0.1


def conv_bn_spec(conv, bn, c_in, c_out, k, stride):
    return {"conv": conv, "bn": bn, "shape": (c_out, c_in, k, k), "stride": stride, "pad": k // 2}


def architecture():
    """The conv+BN layers in the Rust engine's order, as blocks."""
    stem = conv_bn_spec("conv1", "bn1", CHW[0], WIDTH, 3, 1)
    blocks, c_in = [], WIDTH
    for s in range(4):
        c = WIDTH << s
        for b in range(2):
            pre = f"layer{s + 1}.{b}"
            stride = 2 if s > 0 and b == 0 else 1
            block = {
                "conv1": conv_bn_spec(f"{pre}.conv1", f"{pre}.bn1", c_in, c, 3, stride),
                "conv2": conv_bn_spec(f"{pre}.conv2", f"{pre}.bn2", c, c, 3, 1),
                "shortcut": None,
            }
            if stride != 1 or c_in != c:
                block["shortcut"] = conv_bn_spec(
                    f"{pre}.shortcut.conv", f"{pre}.shortcut.bn", c_in, c, 1, stride
                )
            blocks.append(block)
            c_in = c
    return stem, blocks


def layers(stem, blocks):
    yield stem
    for b in blocks:
        yield b["conv1"]
        yield b["conv2"]
        if b["shortcut"] is not None:
            yield b["shortcut"]


def build(gen):
    """(params, buffers): ordered lists of (name, tensor)."""
    stem, blocks = architecture()
    params, buffers = [], []

    def u(shape, lo, hi):
        return torch.rand(shape, generator=gen) * (hi - lo) + lo

    for spec in layers(stem, blocks):
        c_out, c_in, k, _ = spec["shape"]
        bound = (6.0 / (c_in * k * k)) ** 0.5  # Kaiming-uniform, gain sqrt(2)
        params.append((f"{spec['conv']}.w", u(spec["shape"], -bound, bound)))
        params.append((f"{spec['bn']}.w", u((c_out,), 0.5, 1.5)))
        params.append((f"{spec['bn']}.b", u((c_out,), -0.2, 0.2)))
        buffers.append((f"{spec['bn']}.running_mean", u((c_out,), -0.2, 0.2)))
        buffers.append((f"{spec['bn']}.running_var", u((c_out,), 0.5, 1.5)))
    fan_in = 8 * WIDTH
    bound = 1.0 / fan_in**0.5
    params.append(("head.w", u((K, fan_in), -bound, bound)))
    params.append(("head.b", u((K,), -0.1, 0.1)))
    return stem, blocks, params, buffers


def forward(stem, blocks, p, buf, x, training):
    """Logits; in training mode the buffers in `buf` are updated in place, as torch does."""

    def conv_bn(h, spec):
        h = F.conv2d(h, p[f"{spec['conv']}.w"], None, stride=spec["stride"], padding=spec["pad"])
        bn = spec["bn"]
        return F.batch_norm(
            h,
            buf[f"{bn}.running_mean"],
            buf[f"{bn}.running_var"],
            p[f"{bn}.w"],
            p[f"{bn}.b"],
            training=training,
            momentum=MOMENTUM,
            eps=EPS,
        )

    h = F.relu(conv_bn(x, stem))
    for b in blocks:
        y = F.relu(conv_bn(h, b["conv1"]))
        y = conv_bn(y, b["conv2"])
        s = h if b["shortcut"] is None else conv_bn(h, b["shortcut"])
        h = F.relu(y + s)
    h = F.adaptive_avg_pool2d(h, 1).flatten(1)
    return F.linear(h, p["head.w"], p["head.b"])


def named(pairs):
    return [{"name": n, "shape": list(t.shape), "values": floats(t)} for n, t in pairs]


def make():
    gen = torch.Generator().manual_seed(SEED)
    stem, blocks, params, buffers = build(gen)
    x = torch.randn((BATCH, *CHW), generator=gen, dtype=torch.float32)
    labels = torch.randint(0, K, (BATCH,), generator=gen)
    p = {n: t.clone().requires_grad_(True) for n, t in params}

    with torch.no_grad():
        buf = {n: t.clone() for n, t in buffers}
        eval_logits = forward(stem, blocks, p, buf, x, training=False)
        eval_loss = F.cross_entropy(eval_logits, labels)
        assert all(torch.equal(buf[n], t) for n, t in buffers), "evaluation moved a buffer"

    buf = {n: t.clone() for n, t in buffers}
    train_logits = forward(stem, blocks, p, buf, x, training=True)
    train_loss = F.cross_entropy(train_logits, labels)
    train_loss.backward()
    grads = [(n, p[n].grad.detach().clone()) for n, _ in params]
    after_buffers = [(n, buf[n].clone()) for n, _ in buffers]

    # The same training forward and backward in float64 from the same float32 values: the
    # reference for the gradients. Training-mode batch norm's backward subtracts the batch means of
    # dy and dy x_hat, and across 17 such layers the cancellation leaves float32 gradients of the
    # first stages only ~2e-3 accurate (torch's own included), far from the 1e-6 of the last ones.
    p64 = {n: t.clone().double().requires_grad_(True) for n, t in params}
    buf64 = {n: t.clone().double() for n, t in buffers}
    loss64 = F.cross_entropy(forward(stem, blocks, p64, buf64, x.double(), training=True), labels)
    loss64.backward()
    grads64 = [(n, p64[n].grad.detach().float()) for n, _ in params]

    with torch.no_grad():
        stepped = {n: p[n] - LR * g for n, g in grads64}
        loss_after = F.cross_entropy(forward(stem, blocks, stepped, buf, x, training=True), labels)

    return {
        "preset": "resnet18",
        "torch_version": torch.__version__,
        "seed": SEED,
        "width": WIDTH,
        "k": K,
        "input_shape": [BATCH, *CHW],
        "x": floats(x),
        "labels": [int(v) for v in labels.tolist()],
        "params": named(params),
        "buffers": named(buffers),
        "eval": {"logits": floats(eval_logits), "loss": scalar(eval_loss)},
        "train": {
            "logits": floats(train_logits),
            "loss": scalar(train_loss),
            "grads": named(grads),
            "grads_f64": named(grads64),
            "buffers_after": named(after_buffers),
        },
        "sgd": {"lr": LR, "loss_after": scalar(loss_after)},
    }


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out = make()
    data = (dump(out) + "\n").encode()
    path = os.path.join(HERE, "resnet18.json.gz")
    write_gz(path, data)
    print(
        f"{path}: eval loss {out['eval']['loss'].text()}, train loss {out['train']['loss'].text()}"
        f" -> {out['sgd']['loss_after'].text()}, {os.path.getsize(path) / 1e6:.2f} MB"
    )


if __name__ == "__main__":
    main()
