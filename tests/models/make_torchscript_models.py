#!/usr/bin/python3
"""Writes the TorchScript models of fedge's tests (Debian's python3-torch):

  cnn_small.pt  fedge's zoo model `cnn_small` (models/zoo.cc) as a scripted
                nn.Sequential, with the initial weights fedge gives cnn_small
                in a federation whose `seed` is SEED (default 3, the seed of
                tests/sim/torchscript.toml): the same layers, initialised in
                the order LibTorch initialises them, by the same default
                initialisers after torch.manual_seed(DeriveSeed(SEED, kModel))
                (core/random.cc, settings/federation_settings.h), so a
                federation on torchscript:tests/models/cnn_small.pt and one on
                cnn_small start from the same model.

Every file carries the extra file `fedge_example_shape` ("1 28 28"), which
fedge reads for the shape of one example (models/torchscript_import.h).

  /usr/bin/python3 tests/models/make_torchscript_models.py [--seed SEED] [--out DIR]
"""
import argparse
import os

import torch
from torch import nn

MASK = (1 << 64) - 1
SEED_STREAM_MODEL = 0x6D6F64656C  # SeedStream::kModel


def derive_seed(base, stream):
    """core/random.cc DeriveSeed: splitmix64 of base + golden ratio * (stream + 1)."""
    z = (base + 0x9E3779B97F4A7C15 * (stream + 1)) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def cnn_small():
    # models/zoo.cc passes the layers as arguments of one call, which GCC
    # evaluates right to left: the last layer draws its initial weights first.
    linear = nn.Linear(512, 10)
    conv2 = nn.Conv2d(16, 32, 5)
    conv1 = nn.Conv2d(1, 16, 5)
    return nn.Sequential(
        conv1, nn.ReLU(), nn.MaxPool2d(2),
        conv2, nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), linear)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    torch.manual_seed(derive_seed(args.seed, SEED_STREAM_MODEL))
    model = torch.jit.script(cnn_small())
    path = os.path.join(args.out, "cnn_small.pt")
    model.save(path, _extra_files={"fedge_example_shape": "1 28 28"})
    print(f"{path}: {sum(p.numel() for p in model.parameters())} parameters")


if __name__ == "__main__":
    main()
