#!/usr/bin/env python3
"""Trains the bundled ResNet-style Fashion-MNIST model and exports it to ONNX with its
BatchNormalization nodes kept (PyTorch folds them into Conv when exporting in EVAL mode).

Run: /usr/bin/python3 tools/train_resnet.py [--epochs 4] [--out src/models/fmnist-resnet.onnx]
Needs Debian's python3-torch, python3-onnx and dataset-fashion-mnist. Deterministic for a seed on one
machine (CPU, fixed thread count); outside the Java build.
"""
import argparse, gzip, struct, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def idx(path):
    with gzip.open(path, "rb") as f:
        magic = struct.unpack(">I", f.read(4))[0]
        dims = [struct.unpack(">I", f.read(4))[0] for _ in range(magic & 0xFF)]
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def load(split):
    x = idx(f"{DATA}/{split}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    y = idx(f"{DATA}/{split}-labels-idx1-ubyte.gz").astype(np.int64)
    x = (x - MEAN) / STD
    return torch.from_numpy(x[:, None]), torch.from_numpy(y)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        s = x if self.down is None else self.down(x)
        return F.relu(y + s)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.l1 = Block(16, 16, 1)
        self.l2 = Block(16, 32, 2)
        self.l3 = Block(32, 64, 2)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.l3(self.l2(self.l1(self.stem(x))))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def fit_and_export(make_model, epochs, out, seed, weight_decay):
    """Adam + one-cycle schedule, batch 128, random horizontal flips; ONNX export with BatchNorm kept.
    Shared by the bundled models' training scripts."""
    torch.manual_seed(seed)
    torch.set_num_threads(2)
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    m = make_model()
    opt = torch.optim.Adam(m.parameters(), lr=2e-3, weight_decay=weight_decay)
    steps = epochs * (len(xtr) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=4e-3, total_steps=steps)
    g = torch.Generator().manual_seed(seed)
    acc = 0.0
    for ep in range(epochs):
        m.train()
        t0 = time.time()
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(len(xtr) // 128):
            b = perm[i * 128:(i + 1) * 128]
            xb = xtr[b]
            # light augmentation: random horizontal flip
            flip = torch.rand(len(b), generator=g) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(m(xb), ytr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        m.eval()
        with torch.no_grad():
            acc = sum((m(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, 10000, 1000)) / 100.0
        print(f"epoch {ep + 1}: test top-1 {acc:.2f}%  ({time.time() - t0:.0f} s)", flush=True)
    m.eval()
    # TrainingMode.PRESERVE with the module in eval mode skips the exporter's Conv+BN folding,
    # so the ONNX file keeps BatchNormalization nodes with their running statistics.
    torch.onnx.export(m, xte[:1], out, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    import onnx
    ops = [n.op_type for n in onnx.load(out).graph.node]
    print("exported", out, "ops:", {o: ops.count(o) for o in sorted(set(ops))})
    assert ops.count("BatchNormalization") == ops.count("Conv"), "BatchNormalization nodes were folded away"
    print(f"final FP32 test top-1 {acc:.2f}%")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--out", default="src/models/fmnist-resnet.onnx")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    fit_and_export(ResNet, a.epochs, a.out, a.seed, weight_decay=1e-4)


if __name__ == "__main__":
    main()
