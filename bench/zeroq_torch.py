#!/usr/bin/env python3
"""The ZeroQ recipe in PyTorch, the peer zsq's synthesis speed is measured against.

Same model (the bundled ResNet-style ONNX, rebuilt from tools/train_resnet.py with the ONNX file's
weights), same objective (squared distance of per-channel mean and std of every pre-BN activation from
the running statistics, averaged over channels, plus the input against (0, 1)), same optimizer (Adam on
the input, lr 0.5), same batch, steps and thread count. Prints images/s.

Usage: /usr/bin/python3 bench/zeroq_torch.py [--threads 1] [--steps 500] [--batch 32]
"""
import argparse, os, sys, time
import numpy as np
import onnx
from onnx import numpy_helper
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from train_resnet import ResNet, MEAN, STD  # noqa: E402


def load(path):
    m = onnx.load(path)
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    for n in m.graph.node:  # the exporter deduplicates equal constants through Identity nodes
        if n.op_type == "Identity" and n.input[0] in init:
            init[n.output[0]] = init[n.input[0]]
    net = ResNet()
    sd = net.state_dict()
    for k in sd:
        if k.endswith("num_batches_tracked"):
            continue
        sd[k] = torch.from_numpy(np.array(init[k]))
    net.load_state_dict(sd)
    return net.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "..", "src", "models", "fmnist-resnet.onnx"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    net = load(a.model)
    for p in net.parameters():
        p.requires_grad_(False)
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    acts = []
    hooks = [b.register_forward_hook(lambda mod, inp, out: acts.append((mod, inp[0]))) for b in bns]
    lo, hi = (0 - MEAN) / STD, (1 - MEAN) / STD
    x = torch.randn(a.batch, 1, 28, 28).clamp_(lo, hi).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.5)
    t0 = time.time()
    for _ in range(a.steps):
        acts.clear()
        opt.zero_grad()
        net(x)
        loss = (x.mean() ** 2) + (torch.sqrt(x.var(unbiased=False) + 1e-12) - 1) ** 2
        for mod, z in acts:
            mean = z.mean(dim=(0, 2, 3))
            std = torch.sqrt(z.var(dim=(0, 2, 3), unbiased=False) + mod.eps)
            loss = loss + ((mean - mod.running_mean) ** 2).mean() + ((std - torch.sqrt(mod.running_var + mod.eps)) ** 2).mean()
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(lo, hi)
    dt = time.time() - t0
    print(f"pytorch {torch.__version__}  threads {a.threads}  batch {a.batch}  steps {a.steps}  "
          f"seconds {dt:.2f}  images/s {a.batch / dt:.3f}  final loss {loss.item():.5f}")


if __name__ == "__main__":
    main()
