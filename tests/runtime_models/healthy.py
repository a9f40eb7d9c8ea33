"""Healthy counterparts of the seed models: the runtime probe must stay quiet on each."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class MNISTNet(nn.Module):
    """Seed 001's MLP with PyTorch's default initialisation."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 128)
        self.fc2 = nn.Linear(128, 64)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        x = x.view(-1, 28 * 28)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.out(x)


class ZeroHead(MNISTNet):
    """Output layer weight and bias zero: upstream gradients are zero at step 0 only (measured: 95.7%)."""

    def __init__(self):
        super().__init__()
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)


class ZeroHiddenWeight(MNISTNet):
    """First layer weight zero, bias random: the bias breaks the symmetry (measured: 96%)."""

    def __init__(self):
        super().__init__()
        nn.init.zeros_(self.fc1.weight)


class LoRALinear(nn.Module):
    """A frozen-free base layer plus a LoRA pair whose B factor starts at zero (the standard recipe)."""

    def __init__(self, d_in=32, d_out=16, rank=4):
        super().__init__()
        self.base = nn.Linear(d_in, d_out)
        self.lora_A = nn.Parameter(torch.randn(rank, d_in) * 0.01)
        self.lora_B = nn.Parameter(torch.zeros(d_out, rank))

    def forward(self, x):
        return self.base(x) + (x @ self.lora_A.t()) @ self.lora_B.t()


class WithDropout(nn.Module):
    """Healthy, with dropout (the probe switches it off and says so)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(32, 5)

    def forward(self, x):
        return self.fc2(F.dropout(self.drop(torch.relu(self.fc1(x))), 0.2, self.training))


class DictOutput(nn.Module):
    """Returns a dict and a tuple of tensors: every floating output gets a random cotangent."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(8, 16)
        self.head_a = nn.Linear(16, 3)
        self.head_b = nn.Linear(16, 2)

    def forward(self, x):
        h = torch.tanh(self.body(x))
        return {"a": self.head_a(h), "rest": (self.head_b(h), x.shape[0])}


def make_with_inputs():
    """A factory returning (module, example_inputs)."""
    return MNISTNet(), torch.ones(2, 784)
