"""A small language model: embedding, LSTM, tied decoder weights, a parameter on the container."""

import torch
from torch import nn


class TiedLM(nn.Module):
    def __init__(self, vocab: int = 100, dim: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, dim, batch_first=True)
        self.decoder = nn.Linear(dim, vocab)
        self.decoder.weight = self.embed.weight  # tied: counted once
        self.temperature = nn.Parameter(torch.ones(1))  # a parameter on the container itself

    def forward(self, tokens):
        out, (h, c) = self.lstm(self.embed(tokens))
        return self.decoder(out) / self.temperature, (h, c)
