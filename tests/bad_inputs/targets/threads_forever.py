"""A target that starts a thread which never ends (tests/test_bad_inputs.py runs it in its own process)."""

import threading
import time

from torch import nn


def _spin() -> None:
    while True:
        time.sleep(0.05)


threading.Thread(target=_spin).start()  # not a daemon: Python would wait for it at exit


class Net(nn.Module):
    def forward(self, x):
        return x
