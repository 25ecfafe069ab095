#!/usr/bin/env python3
"""Writes data/subset/mnist/: the first 500 training and 200 test images of each MNIST class, in
the official files' order, as gzip'd IDX files with the standard names (gzip mtime 0, so the
output is byte-identical on every run). Usage: make_subset.py OFFICIAL_MNIST_DIR OUT_DIR"""
import gzip, hashlib, struct, sys
from pathlib import Path

PER_CLASS = {"train": 500, "t10k": 200}

def read(path):
    with gzip.open(path, "rb") as f:
        return f.read()

def main(src, out):
    src, out = Path(src), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for split, per in PER_CLASS.items():
        images = read(src / f"{split}-images-idx3-ubyte.gz")
        labels = read(src / f"{split}-labels-idx1-ubyte.gz")
        magic, n, rows, cols = struct.unpack(">IIII", images[:16])
        assert magic == 2051 and struct.unpack(">II", labels[:8]) == (2049, n)
        size = rows * cols
        taken, keep = [0] * 10, []
        for i in range(n):
            c = labels[8 + i]
            if taken[c] < per:
                taken[c] += 1
                keep.append(i)
        assert taken == [per] * 10
        img = struct.pack(">IIII", 2051, len(keep), rows, cols) + b"".join(
            images[16 + i * size:16 + (i + 1) * size] for i in keep)
        lab = struct.pack(">II", 2049, len(keep)) + bytes(labels[8 + i] for i in keep)
        for name, data in [(f"{split}-images-idx3-ubyte", img), (f"{split}-labels-idx1-ubyte", lab)]:
            path = out / f"{name}.gz"
            with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
                f.write(data)
            print(name, len(data), hashlib.sha256(data).hexdigest(),
                  path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())

if __name__ == "__main__":
    main(*sys.argv[1:3])
