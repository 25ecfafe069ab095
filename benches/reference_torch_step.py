"""Images/second of PyTorch on the training step that `regimebench bench` times: the `small` and
`cifar` presets of PROTOCOL section 3 and the CIFAR-style `resnet18` (3x32x32, batch norm in
training mode) at the widths asked for, batch 64, 2 classes, all groups trainable, forward +
backward + plain SGD (lr 0.05) on one fixed random batch. A measurement aid to run next to
`regimebench bench`, so the two are compared in one session; not a test.

    python benches/reference_torch_step.py [threads ...]            # default: 1 and 2
    RESNET_WIDTHS=20,64 python benches/reference_torch_step.py 1    # resnet18 too
"""

import os

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


class Block(nn.Module):
    def __init__(self, cin, c, stride):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != c:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + self.shortcut(x))


class ResNet18(nn.Module):
    def __init__(self, nf):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, nf, 3, 1, 1, bias=False), nn.BatchNorm2d(nf))
        blocks, cin = [], nf
        for s in range(4):
            for b in range(2):
                blocks.append(Block(cin, nf << s, 2 if s > 0 and b == 0 else 1))
                cin = nf << s
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(8 * nf, CLASSES)

    def forward(self, x):
        x = self.blocks(F.relu(self.stem(x)))
        return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))


def rate(preset):
    torch.manual_seed(0)
    if preset.startswith("resnet18"):
        cin, hw = 3, 32
        net = ResNet18(int(preset.split("-")[1]))
    else:
        cin, hw, chans, hidden = PRESETS[preset]
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
    print(f"{'preset':<11} {'threads':>7} {'median img/s':>12} {'best img/s':>12}")
    widths = [w for w in os.environ.get("RESNET_WIDTHS", "").split(",") if w]
    for preset in list(PRESETS) + [f"resnet18-{w}" for w in widths]:
        for t in threads:
            torch.set_num_threads(t)
            median, best = rate(preset)
            print(f"{preset:<11} {t:>7} {median:>12.0f} {best:>12.0f}")


if __name__ == "__main__":
    main()
