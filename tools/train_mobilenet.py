#!/usr/bin/env python3
"""Trains the bundled MobileNet-style Fashion-MNIST model (depthwise-separable blocks, BatchNorm after
every convolution, ReLU6) and exports it to ONNX with its BatchNormalization nodes kept.

Depthwise convolutions followed by BatchNorm are the case where per-tensor weight quantization breaks
after BN folding (channel ranges differ by orders of magnitude) and where cross-layer equalization and
bias correction (Nagel et al., DFQ, ICCV 2019) are meant to help.

Run: /usr/bin/python3 tools/train_mobilenet.py [--epochs 6] [--out src/models/fmnist-mobilenet.onnx]
Needs Debian's python3-torch, python3-onnx and dataset-fashion-mnist; outside the Java build.
"""
import argparse, os, sys
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from train_resnet import fit_and_export  # noqa: E402


def conv_bn(cin, cout, k, stride, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU6())


class MobileNet(nn.Module):
    # (in, out, stride) of each depthwise-separable block: dw 3x3 + BN + ReLU6, pw 1x1 + BN + ReLU6
    BLOCKS = [(16, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1)]

    def __init__(self):
        super().__init__()
        layers = [conv_bn(1, 16, 3, 1)]
        for cin, cout, s in self.BLOCKS:
            layers += [conv_bn(cin, cin, 3, s, groups=cin), conv_bn(cin, cout, 1, 1)]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = self.features(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--out", default="src/models/fmnist-mobilenet.onnx")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    fit_and_export(MobileNet, a.epochs, a.out, a.seed, weight_decay=1e-5)


if __name__ == "__main__":
    main()
