# Seed 004's LeNet with a default in_channels, so that it builds without arguments.
# From seed 004 (ML smell catalog, "Initialize Weight to a Constant"): the LeNet example.
# Its real bug is the order: _initialize_weights() runs before any layer exists.
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self, in_channels=1, init_weights=True, num_classes=10):
        super(LeNet, self).__init__()

        self.num_classes = num_classes

        if init_weights:
            self._initialize_weights()  # expect: flag

        self.conv1 = nn.Conv2d(in_channels=in_channels, out_channels=6, kernel_size=5)
        self.conv2 = nn.Conv2d(in_channels=6, out_channels=16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        z1 = self.conv1(x)
        a1 = F.max_pool2d(F.relu(z1), kernel_size=2, stride=2)
        a2 = F.max_pool2d(F.relu(self.conv2(a1)), kernel_size=2, stride=2)
        z3 = self.fc1(a2.view(a2.size(0), -1))
        z4 = self.fc2(F.relu(z3))
        return self.fc3(F.relu(z4))

    def _initialize_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)  # expect: clean

            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)  # expect: clean
                nn.init.constant_(m.bias, 0)  # expect: clean

            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)  # expect: clean
