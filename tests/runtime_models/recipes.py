"""Models built the ways real files build them; `--runtime` must find each way and reach each site.

Each flagged line ends with `# site: NAME`; tests/test_runtime_recipes.py puts a static finding
there and checks the verdict. Module-level code here must stay cheap: the worker imports the file.
"""
import sys

import torch
import torch.nn as nn


def _const_both(layer_in, layer_out, value=0.5):
    """Units of layer_in tied on both sides: equal incoming weights and bias, equal outgoing weights."""
    with torch.no_grad():
        layer_in.weight.fill_(value)
        layer_in.bias.fill_(0.1)
        layer_out.weight.fill_(value)


class MLP(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.fc1 = nn.Linear(8, width)
        self.fc2 = nn.Linear(width, 2)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class ViaCallSite(MLP):
    """Symmetric only when mode == "const": a call site with a literal argument selects it."""

    def __init__(self, mode="random", width=16):
        super().__init__(width)
        if mode == "const":
            _const_both(self.fc1, self.fc2)  # site: call_site


def experiment(lr):
    """Not a factory (it takes an argument), but its call of ViaCallSite is all literal."""
    return ViaCallSite(mode="const", width=12), lr


class ViaBranch(MLP):
    """Nothing in the file passes zero_init=True: the branch is taken by solving its test."""

    def __init__(self, zero_init=False, width=16):
        super().__init__(width)
        self.zero_init = zero_init
        if self.zero_init:
            with torch.no_grad():
                self.fc1.weight.zero_()  # site: branch
                self.fc1.bias.zero_()


default_branch = ViaBranch()  # a module-level instance that skips the site: it must not clear the finding


class ViaFactory(MLP):
    def __init__(self, width):
        super().__init__(width)
        _const_both(self.fc1, self.fc2, 0.25)  # site: factory


def make_factory_model():
    net = ViaFactory(width=10)
    return net


class ViaTest(MLP):
    pass


def init_all_ones(module):
    if isinstance(module, nn.Linear):
        nn.init.ones_(module.weight)  # site: test_function
        nn.init.zeros_(module.bias)


def test_via_test():
    net = ViaTest(width=6)
    net.apply(init_all_ones)
    out = net(torch.randn(3, 8))
    assert out.shape == (3, 2)


class ViaMain(MLP):
    pass


def zero_everything(model):
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()  # site: main_block


def train_for_ever(net):
    while True:  # the run stops at the model's first forward call, long before this matters
        net(torch.randn(4, 8)).sum().backward()


class WeakStart(MLP):
    """A constant first layer between a random bias and a random next layer: a weak start, not a tie for ever."""

    def __init__(self):
        super().__init__(16)
        nn.init.constant_(self.fc1.weight, 0.3)  # site: weak_start


class TiedForEver(MLP):
    def __init__(self):
        super().__init__(16)
        _const_both(self.fc1, self.fc2)  # site: tied_for_ever


class ConstWithRandomBias(MLP):
    """Constant weights on both sides, but the default random bias tells the units apart."""

    def __init__(self):
        super().__init__(16)
        nn.init.constant_(self.fc1.weight, 0.5)  # site: random_bias
        nn.init.constant_(self.fc2.weight, 0.5)


class Overwritten(MLP):
    def __init__(self):
        super().__init__(16)
        nn.init.constant_(self.fc1.weight, 0.5)  # site: overwritten
        nn.init.kaiming_uniform_(self.fc1.weight)


class ListOfLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.Linear(8, 8) for _ in range(2)]  # site: plain_list
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return self.head(x)


class TensorAttribute(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)
        self.scale = torch.ones(4, requires_grad=True)  # site: tensor_attribute

    def forward(self, x):
        return self.fc(x) * self.scale


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return torch.relu(self.fc(x))


class Repeated(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Block()] * 3)  # site: repeated
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(x)


class TiedOnPurpose(nn.Module):
    """Weight tying by name: deliberate, never IL106."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.head = nn.Linear(8, 20, bias=False)
        self.head.weight = self.embed.weight  # site: tied_on_purpose

    def forward(self, ids):
        return self.head(self.embed(ids))


class Uninitialised(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.Tensor(4, 8))  # site: uninitialised
        self.bias = nn.Parameter(torch.zeros(4))

    def reset_parameters(self):  # never called
        nn.init.kaiming_uniform_(self.weight)

    def forward(self, x):
        return x @ self.weight.t() + self.bias


class ResetInInit(Uninitialised):
    def __init__(self):
        super().__init__()
        self.reset_parameters()  # site: reset_in_init


if __name__ == "__main__":
    width = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    model = ViaMain(width)
    zero_everything(model)
    train_for_ever(model)
