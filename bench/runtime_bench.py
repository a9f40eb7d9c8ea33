"""Benchmark (not a test): the runtime probe against the same number of plain forward+backward passes.

    python bench/runtime_bench.py                 # full sizes, CPU (and CUDA when available)
    python bench/runtime_bench.py --quick         # reduced sizes for a small machine
    python bench/runtime_bench.py --models mlp --runs 7 --threads 1

For each model it prints the median wall time of `check(model, x, steps=S)` (deep copy, dropout
switch, S SGD steps, the symmetry and dead-parameter checks) and of S plain passes
(forward, random-cotangent loss, backward), run alternately (at least --runs times, and for
about 3 s for a fast model), and the median of the per-run ratios; then the peak memory of the probe
against one plain training step (forward, backward, SGD update), each measured in a fresh
process: CPU peak RSS (VmHWM) above the RSS after `import torch`, or CUDA max_memory_allocated.
Targets: time ratio <= 1.5, memory ratio <= 2.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List, Tuple

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from initlint.runtime import check

# --- the models ------------------------------------------------------------------------------


class BasicBlock(nn.Module):
    """ResNet's basic block (two 3x3 convs and a shortcut)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (x if self.down is None else self.down(x)))


class ResNet18(nn.Module):
    """ResNet-18 written out by hand (11.7M parameters), no torchvision."""

    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        blocks, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1), 1))


class Transformer(nn.Module):
    """Token embedding + nn.TransformerEncoder (about 110M parameters at full size)."""

    def __init__(self, vocab: int, width: int, layers: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        layer = nn.TransformerEncoderLayer(width, width // 64, 4 * width, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.embed(tokens))


def models(quick: bool) -> Dict[str, Tuple[Callable[[], nn.Module], Callable[[], torch.Tensor]]]:
    """name -> (model factory, input factory)."""
    if quick:
        return {
            "mlp": (lambda: nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)), lambda: torch.randn(64, 784)),
            "resnet18": (lambda: ResNet18(), lambda: torch.randn(4, 3, 64, 64)),
            "transformer": (lambda: Transformer(32000, 768, 4), lambda: torch.randint(0, 32000, (2, 32))),
        }
    return {
        "mlp": (lambda: nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)), lambda: torch.randn(64, 784)),
        "resnet18": (lambda: ResNet18(), lambda: torch.randn(8, 3, 224, 224)),
        "transformer": (lambda: Transformer(32000, 768, 12), lambda: torch.randint(0, 32000, (2, 64))),
    }


# --- measurements ------------------------------------------------------------------------------


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def plain_passes(model: nn.Module, x: torch.Tensor, steps: int, update: bool = False) -> None:
    """`steps` forward+backward passes with the probe's loss (and an SGD update when asked)."""
    for _ in range(steps):
        model.zero_grad(set_to_none=True)
        out = model(x)
        (out * torch.randn_like(out)).sum().backward()
        if update:
            with torch.no_grad():
                for p in model.parameters():
                    if p.grad is not None:
                        p.add_(p.grad, alpha=-0.01)


def timings(name: str, quick: bool, device: str, runs: int, steps: int, budget: float = 3.0) -> Tuple[float, float, float, int]:
    """(median probe seconds, median plain seconds, median of the per-run ratios, parameters).

    Probe and plain passes alternate, run after run; a model whose pair takes milliseconds is
    repeated until the pairs fill `budget` seconds (a 5 ms MLP on a shared machine swings by
    a third from one median of 21 to the next), and the ratio is the median of each run's own
    probe/plain ratio, so that a slow spell of the machine weighs on both sides of it alike.
    """
    make, inputs = models(quick)[name]
    model, x = make().to(device), inputs().to(device)
    plain_passes(model, x, 1)  # warm-up: allocator, thread pools, kernels
    start = time.perf_counter()
    check(model, x, steps=steps, device=device)
    plain_passes(model, x, steps)
    runs = max(runs, min(1000, int(budget / max(time.perf_counter() - start, 1e-6))))
    probe_times, plain_times = [], []
    for _ in range(runs):
        _sync(device)
        start = time.perf_counter()
        plain_passes(model, x, steps)
        _sync(device)
        plain_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        check(model, x, steps=steps, device=device)
        _sync(device)
        probe_times.append(time.perf_counter() - start)
    ratio = statistics.median(p / q for p, q in zip(probe_times, plain_times))
    return statistics.median(probe_times), statistics.median(plain_times), ratio, sum(p.numel() for p in model.parameters())


def _status_kib(field: str) -> int:
    """A field of /proc/self/status in KiB. VmHWM, not getrusage's ru_maxrss: Linux carries
    ru_maxrss over exec, so a child forked from a big parent reports the parent's peak."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def memory_child(name: str, quick: bool, device: str, what: str, steps: int) -> None:
    """Run in a fresh process: print the peak memory (bytes) of one plain training step or of the probe."""
    base = _status_kib("VmRSS")
    make, inputs = models(quick)[name]
    model, x = make().to(device), inputs().to(device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    if what == "plain":
        plain_passes(model, x, 1, update=True)
    else:
        check(model, x, steps=steps, device=device)
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = (_status_kib("VmHWM") - base) * 1024
    print(json.dumps({"peak": peak}))


def memory(name: str, quick: bool, device: str, steps: int, threads: int) -> Tuple[int, int]:
    """(probe peak, plain-step peak) in bytes, each from its own process."""
    peaks = []
    for what in ("probe", "plain"):
        cmd = [sys.executable, os.path.abspath(__file__), "--_memory", name, what, "--device", device, "--steps", str(steps), "--threads", str(threads)]
        if quick:
            cmd.append("--quick")
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        peaks.append(json.loads(out.strip().splitlines()[-1])["peak"])
    return peaks[0], peaks[1]


def main(argv: List[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes (ResNet at 64x64, a 4-layer transformer)")
    parser.add_argument("--models", default="mlp,resnet18,transformer")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cpu, and cuda when available)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--_memory", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args._memory:
        memory_child(args._memory[0], args.quick, args.device or "cpu", args._memory[1], args.steps)
        return
    devices = [args.device] if args.device else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.runs} runs, {args.steps} steps, {'quick' if args.quick else 'full'} sizes")
    print(f"{'model':<12}{'device':<7}{'params':>9}{'probe s':>10}{'plain s':>10}{'time x':>8}{'probe MiB':>11}{'step MiB':>10}{'mem x':>7}")
    for device in devices:
        for name in args.models.split(","):
            probe_s, plain_s, ratio, count = timings(name, args.quick, device, args.runs, args.steps)
            probe_m, plain_m = memory(name, args.quick, device, args.steps, args.threads)
            print(
                f"{name:<12}{device:<7}{count / 1e6:>8.1f}M{probe_s:>10.4f}{plain_s:>10.4f}{ratio:>8.2f}"
                f"{probe_m / 2**20:>11.0f}{plain_m / 2**20:>10.0f}{probe_m / max(plain_m, 1):>7.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1:])
