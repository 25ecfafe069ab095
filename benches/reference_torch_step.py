"""Images/second of PyTorch on the training step that `regimebench bench` times: the `small` and
`cifar` presets of PROTOCOL section 3, batch 64, 2 classes, all groups trainable, forward +
backward + plain SGD (lr 0.05) on one fixed random batch. A measurement aid to run next to
`regimebench bench`, so the two are compared in one session; not a test.

    python benches/reference_torch_step.py [threads ...]   # default: 1 and 2
"""

import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, CLASSES, ROUNDS, SECONDS = 64, 2, 7, 1.0
PRESETS = {"small": (1, 28, (16, 32, 64), 128), "cifar": (3, 32, (32, 64, 128), 256)}


class Net(nn.Module):
    def __init__(self, cin, hw, chans, hidden):
        super().__init__()
        ins = (cin,) + chans[:2]
        self.convs = nn.ModuleList(nn.Conv2d(i, o, 3, padding=1) for i, o in zip(ins, chans))
        side = hw // 8
        self.fc = nn.Linear(chans[2] * side * side, hidden)
        self.head = nn.Linear(hidden, CLASSES)

    def forward(self, x):
        for conv in self.convs:
            x = F.max_pool2d(F.relu(conv(x)), 2)
        return self.head(F.relu(self.fc(x.flatten(1))))


def rate(preset):
    cin, hw, chans, hidden = PRESETS[preset]
    torch.manual_seed(0)
    net = Net(cin, hw, chans, hidden)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    x = torch.rand(BATCH, cin, hw, hw) * 2 - 1
    y = torch.arange(BATCH) % CLASSES

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        opt.step()

    start = time.perf_counter()
    while time.perf_counter() - start < SECONDS / 2:
        step()
    rates = []
    for _ in range(ROUNDS):
        n, start = 0, time.perf_counter()
        while n == 0 or time.perf_counter() - start < SECONDS:
            step()
            n += 1
        rates.append(n * BATCH / (time.perf_counter() - start))
    rates.sort()
    return rates[len(rates) // 2], rates[-1]


def main():
    threads = [int(t) for t in sys.argv[1:]] or [1, 2]
    print(f"torch {torch.__version__}: training step, batch {BATCH}, all groups trainable")
    print(f"{'preset':<8} {'threads':>7} {'median img/s':>12} {'best img/s':>12}")
    for preset in PRESETS:
        for t in threads:
            torch.set_num_threads(t)
            median, best = rate(preset)
            print(f"{preset:<8} {t:>7} {median:>12.0f} {best:>12.0f}")


if __name__ == "__main__":
    main()
