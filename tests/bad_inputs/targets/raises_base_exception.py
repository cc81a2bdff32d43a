import torch.nn as nn


class E(BaseException):
    pass


class Net(nn.Module):
    def forward(self, x):
        raise E("base exc")
