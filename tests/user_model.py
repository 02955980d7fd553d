"""A user's own models, as docs/models.md shows them: imported by `--model user_model:FACTORY`
(tests/ is on sys.path here, and the working directory when a test runs a command from it)."""

from collections import OrderedDict

from torch import nn

NOT_A_FACTORY = 3


def small_cnn(in_channels: int, num_classes: int, width: float) -> nn.Module:
    """Two layer groups, body and head: a stage may freeze the body."""
    c = max(8, int(32 * width))
    body = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(c, 2 * c, 3, padding=1), nn.BatchNorm2d(2 * c), nn.ReLU())
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * c, num_classes))
    return nn.Sequential(OrderedDict(body=body, head=head))


class Plain(nn.Module):
    """Not an nn.Sequential: the whole model is one layer group."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 8, 3, padding=1)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        return self.fc(self.conv(x).relu().mean((2, 3)))


def plain(in_channels: int, num_classes: int, width: float) -> nn.Module:
    return Plain(in_channels, num_classes)


def not_a_module(in_channels: int, num_classes: int, width: float):
    return "a string"
