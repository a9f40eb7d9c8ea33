"""Models that misbehave in every way user code can: each must become one clear IL104 for its target."""
import ctypes
import os
import subprocess
import sys
import time

import torch
import torch.nn as nn


class Healthy(nn.Module):
    """Runs fine: its result must survive its neighbours' failures."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class RaisesInInit(nn.Module):
    def __init__(self):
        super().__init__()
        raise ValueError("bad config: width must be even")


class RaisesInForward(Healthy):
    def forward(self, x):
        raise RuntimeError("forward is broken")


class Hangs(Healthy):
    def forward(self, x):
        while True:
            pass


class Exits(nn.Module):
    def __init__(self):
        super().__init__()
        os._exit(3)


class CallsSysExit(nn.Module):
    def __init__(self):
        super().__init__()
        sys.exit(4)


class Segfaults(nn.Module):
    def __init__(self):
        super().__init__()
        ctypes.string_at(0)


class EatsMemory(nn.Module):
    """Allocates 200 MB tensors until the address-space limit stops it (run only with --memory-limit)."""

    def __init__(self):
        super().__init__()
        keep = []
        for _ in range(500):  # 100 GB of address space: stops itself if no limit was set
            keep.append(torch.empty(50_000_000))
        raise RuntimeError("no memory limit stopped the allocations")


class PrintsMegabytes(Healthy):
    """Writes ~20 MB to stdout and stderr, then works: the parent must neither deadlock nor keep it all."""

    def __init__(self):
        super().__init__()
        line = "x" * 1023 + "\n"
        for _ in range(10_000):
            sys.stdout.write(line)
            sys.stderr.write(line)
        print("LAST LINE OF OUTPUT")


class SpawnsAndHangs(Healthy):
    """Starts a child process (its pid goes to $INITLINT_TEST_PIDFILE), then hangs: both must be killed."""

    def __init__(self):
        super().__init__()
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        with open(os.environ["INITLINT_TEST_PIDFILE"], "w") as handle:
            handle.write(str(child.pid))
        time.sleep(300)
