"""Seed 000's 3-2-1 net as an nn.Module with hand-written `x @ W` parameters, made with torch.full."""
import torch
import torch.nn as nn


class ConstantTwoLayer(nn.Module):
    """Both matrices start constant: the two hidden units (columns of W1) are identical for ever."""

    def __init__(self, n_features=3, hidden=2):
        super().__init__()
        self.W1 = nn.Parameter(torch.full((n_features, hidden), 1.0))
        self.W2 = nn.Parameter(torch.full((hidden, 1), 1.0))

    def forward(self, x):
        return torch.matmul(torch.matmul(x, self.W1), self.W2)


class RandomTwoLayer(ConstantTwoLayer):
    """The same net with random weights: quiet."""

    def __init__(self):
        super().__init__(3, 4)
        with torch.no_grad():
            self.W1.normal_()
            self.W2.normal_()
