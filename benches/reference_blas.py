"""GFLOP/s of numpy (OpenBLAS) and torch on the GEMM shapes of benches/gemm.rs: a measurement aid
to run next to `cargo bench --bench gemm`, not a test.

    python benches/reference_blas.py [threads]    # default 1; best of 10 samples of ~50 ms each
"""

import os
import sys
import time

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
os.environ["OPENBLAS_NUM_THREADS"] = str(THREADS)  # read when numpy loads OpenBLAS
import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(THREADS)
BATCH = 64
CONVS = [("mnist1", 1, 16, 784), ("mnist2", 16, 32, 196), ("mnist3", 32, 64, 49),
         ("cifar1", 3, 32, 1024), ("cifar2", 32, 64, 256), ("cifar3", 64, 128, 64)]
FCS = [(576, 128), (128, 10)]


def shapes():
    """(name, transpose A, transpose B, m, n, k), as in benches/gemm.rs."""
    out = [(f"square{d}", False, False, d, d, d) for d in (256, 512, 1024)]
    for name, c_in, c_out, hw in CONVS:
        taps, px = 9 * c_in, BATCH * hw
        out += [(f"{name}_fwd", False, False, c_out, px, taps),
                (f"{name}_bwd_data", True, False, taps, px, c_out),
                (f"{name}_bwd_weight", False, True, c_out, taps, px)]
    for d, o in FCS:
        out += [(f"fc{d}x{o}_fwd", False, True, BATCH, o, d),
                (f"fc{d}x{o}_bwd_weight", True, False, o, d, BATCH),
                (f"fc{d}x{o}_bwd_data", False, False, BATCH, d, o)]
    return out


def gflops(f, flops):
    """Best of 10 samples of about 50 ms, after one warm-up call."""
    f()
    t = time.perf_counter()
    f()
    reps = max(1, int(0.05 / max(time.perf_counter() - t, 1e-7)))
    best = 0.0
    for _ in range(10):
        t = time.perf_counter()
        for _ in range(reps):
            f()
        best = max(best, flops * reps / (time.perf_counter() - t) / 1e9)
    return best


print(f"threads = {THREADS}, numpy {np.__version__}, torch {torch.__version__}")
print(f"{'shape':22} {'numpy':>7} {'torch':>7}  GFLOP/s")
for name, ta, tb, m, n, k in shapes():
    a = np.random.rand(k, m).astype(np.float32).T if ta else np.random.rand(m, k).astype(np.float32)
    b = np.random.rand(n, k).astype(np.float32).T if tb else np.random.rand(k, n).astype(np.float32)
    c = np.empty((m, n), np.float32)
    ta_, tb_, tc_ = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)
    flops = 2.0 * m * n * k
    g_np = gflops(lambda: np.matmul(a, b, out=c), flops)
    g_t = gflops(lambda: torch.matmul(ta_, tb_, out=tc_), flops)
    print(f"{name:22} {g_np:7.1f} {g_t:7.1f}")
