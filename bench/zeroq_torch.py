#!/usr/bin/env python3
"""The ZeroQ recipe in PyTorch, the peer zsq's synthesis speed is measured against.

Same model, same objective, same optimizer as `zsq synth --method zeroq`
(synth-data: BnMatchingLoss, Generator, SynthConfig):
  * objective: for every BatchNorm layer, the squared distance of the batch's per-channel mean and std
    (biased, sqrt(var + eps)) of its input from running_mean and sqrt(running_var + eps), each averaged
    over channels; plus the same for the input against per-channel (0, 1) (eps 0); summed over terms;
  * Adam on the input (lr 0.5, betas 0.9/0.999, eps 1e-8);
  * initialization N(0, 1) and, after every step, clamping per channel to the valid pixel range
    [(0 - mean_c) / std_c, (1 - mean_c) / std_c] of the preprocessing (pixels / 255, then normalized).
Same batch, steps and thread count as the zsq run it is set beside.

Architectures (--arch), each with its input shape and preprocessing:
  fmnist-resnet   1x28x28, mean 0.2860 std 0.3530: the bundled model, rebuilt from tools/train_resnet.py
                  with the ONNX file's weights (--model, default src/models/fmnist-resnet.onnx); the default
  cifar-resnet32  3x32x32, ImageNet mean/std: Idelbayev's pytorch_resnet_cifar10 ResNet-32 (option-A
                  shortcuts) with the weights of ../shared/models/cifar10/resnet32.onnx (--model); the
                  initializers carry the state_dict's names. --check N prints the FP32 top-1 on the first N
                  images of ../shared/data/cifar10/test_batch.bin (the ONNX file's: 92.63% on all 10,000)
  resnet18, mobilenetv2  3x224x224, ImageNet mean/std: tools/make_224_models.py's modules with its
                  state_dict (--weights OUTDIR/ARCH.pt)

--init zsq starts from zsq's own initial images for (--seed, batch 0) (the same SplitMix64 stream and
Box-Muller as synth-data's Seeds), so the losses can be compared with zsq's to the digit; --init torch
(the default) draws torch.randn. Timing covers the optimization steps only (model load, initialization and
the final loss evaluation are outside). Prints one line: images/s (batch / seconds of all steps),
seconds per step, the final loss (at the final images, as zsq's mean_final_loss) and peak RSS
(ru_maxrss, the whole process); --json FILE also writes them as JSON.

Usage: /usr/bin/python3 bench/zeroq_torch.py [--arch fmnist-resnet] [--threads 1] [--steps 500] [--batch 32]
       [--model M.onnx | --weights W.pt] [--init torch|zsq] [--seed 1] [--json FILE] [--check N]
"""
import argparse, json, math, os, resource, sys, time
import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
SHARED = os.environ.get("SHARED", os.path.join(ROOT, "..", "shared"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


# ---- Idelbayev's CIFAR-10 ResNet (pytorch_resnet_cifar10/resnet.py, option A), the state_dict's names ----

class CifarBlock(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes // 4 if stride != 1 or cin != planes else None  # option A: subsample, zero channels

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        s = x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0)
        return F.relu(out + s)


class CifarResNet(nn.Module):
    def __init__(self, n=5, num_classes=10):  # depth 6n + 2: ResNet-32
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for i, planes in enumerate([16, 32, 64]):
            blocks = []
            for j in range(n):
                blocks.append(CifarBlock(cin, planes, 2 if (i > 0 and j == 0) else 1))
                cin = planes
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.avg_pool2d(out, out.size()[3])
        return self.linear(out.view(out.size(0), -1))


def load_onnx_weights(net, path):
    """Copies the ONNX initializers into the module's state_dict by name (the exporter keeps the names)."""
    m = onnx.load(path)
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    for n in m.graph.node:  # the exporter deduplicates equal constants through Identity nodes
        if n.op_type == "Identity" and n.input[0] in init:
            init[n.output[0]] = init[n.input[0]]
    sd = net.state_dict()
    for k in sd:
        if k.endswith("num_batches_tracked"):
            continue
        if k not in init:
            raise SystemExit(f"{path}: no initializer named {k} (not this architecture?)")
        if tuple(init[k].shape) != tuple(sd[k].shape):
            raise SystemExit(f"{path}: {k} is {init[k].shape}, the module's is {tuple(sd[k].shape)}")
        sd[k] = torch.from_numpy(np.array(init[k]))
    net.load_state_dict(sd)
    return net


def build(a):
    """(module in eval mode, input shape CxHxW, per-channel mean, per-channel std)."""
    if a.arch == "fmnist-resnet":
        from train_resnet import ResNet, MEAN, STD
        path = a.model or os.path.join(ROOT, "src", "models", "fmnist-resnet.onnx")
        return load_onnx_weights(ResNet(), path).eval(), (1, 28, 28), (MEAN,), (STD,)
    if a.arch == "cifar-resnet32":
        path = a.model or os.path.join(SHARED, "models", "cifar10", "resnet32.onnx")
        return load_onnx_weights(CifarResNet(5), path).eval(), (3, 32, 32), *IMAGENET
    import make_224_models
    if not a.weights:
        raise SystemExit(f"--arch {a.arch} needs --weights OUTDIR/{a.arch}.pt (tools/make_224_models.py OUTDIR)")
    net = make_224_models.build(a.arch)
    net.load_state_dict(torch.load(a.weights))
    return net.eval(), make_224_models.SHAPE, make_224_models.MEAN, make_224_models.STD


# ---- zsq's initial images (synth-data Seeds: SplittableRandom = SplitMix64, Box-Muller) ----

M64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


def _mix64(z):  # numpy uint64 arrays wrap modulo 2^64 like Java longs
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _longs(seed, n):
    """The first n nextLong() of new SplittableRandom(seed), as uint64."""
    k = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return _mix64(np.uint64(seed & M64) + k * np.uint64(GOLDEN_GAMMA))


def zsq_initial(job_seed, batch_index, n):
    with np.errstate(over="ignore"):
        seed = int(_longs((job_seed * GOLDEN_GAMMA + batch_index) & M64, 1)[0])  # Seeds.forBatch
        d = (_longs(seed, n + (n & 1)) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    u1, u2 = 1.0 - d[0::2], d[1::2]
    m = np.sqrt(-2 * np.log(u1))
    x = np.empty(len(u1) * 2, dtype=np.float32)
    x[0::2] = (m * np.cos(2 * math.pi * u2)).astype(np.float32)
    x[1::2] = (m * np.sin(2 * math.pi * u2)).astype(np.float32)
    return x[:n]


def cifar_check(net, n):
    """FP32 top-1 on the first n images of test_batch.bin (CIFAR-10 binary: label byte + 3072 pixel bytes)."""
    raw = np.fromfile(os.path.join(SHARED, "data", "cifar10", "test_batch.bin"), dtype=np.uint8, count=n * 3073).reshape(-1, 3073)
    y = raw[:, 0].astype(np.int64)
    x = raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    x = (x - np.array(IMAGENET[0], np.float32).reshape(1, 3, 1, 1)) / np.array(IMAGENET[1], np.float32).reshape(1, 3, 1, 1)
    with torch.no_grad():
        logits = torch.cat([net(torch.from_numpy(x[i:i + 250])) for i in range(0, len(x), 250)])
    correct = int((logits.argmax(1).numpy() == y).sum())
    print(f"cifar-resnet32 FP32 top-1 on the first {len(y)} test images: {100.0 * correct / len(y):.2f}% ({correct}); "
          f"logits[0] {np.array2string(logits[0].numpy(), precision=4)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="fmnist-resnet", choices=["fmnist-resnet", "cifar-resnet32", "resnet18", "mobilenetv2"])
    ap.add_argument("--model", help="the ONNX file whose initializers are the weights (fmnist-resnet, cifar-resnet32)")
    ap.add_argument("--weights", help="a state_dict .pt (resnet18, mobilenetv2: tools/make_224_models.py)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--init", choices=["torch", "zsq"], default="torch")
    ap.add_argument("--seed", type=int, default=1, help="--init zsq: zsq's job seed (--seed); --init torch: torch.manual_seed")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--check", type=int, default=0, help="cifar-resnet32: print the FP32 top-1 on the first N test images and exit")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    net, shape, mean, std = build(a)
    if a.check:
        if a.arch != "cifar-resnet32":
            raise SystemExit("--check is for --arch cifar-resnet32")
        cifar_check(net, a.check)
        return
    for p in net.parameters():
        p.requires_grad_(False)
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    acts = []
    for b in bns:
        b.register_forward_hook(lambda mod, inp, out: acts.append((mod, inp[0])))
    c = shape[0]
    lo = torch.tensor([(0 - m) / s for m, s in zip(mean, std)], dtype=torch.float32).view(1, c, 1, 1)
    hi = torch.tensor([(1 - m) / s for m, s in zip(mean, std)], dtype=torch.float32).view(1, c, 1, 1)
    if a.init == "zsq":
        x = torch.from_numpy(zsq_initial(a.seed, 0, a.batch * int(np.prod(shape)))).view(a.batch, *shape)
    else:
        x = torch.randn(a.batch, *shape)
    x = torch.minimum(torch.maximum(x, lo), hi).requires_grad_(True)
    targets = [(b, b.running_mean, torch.sqrt(b.running_var + b.eps), b.eps) for b in bns]

    def objective():
        acts.clear()
        net(x)
        dims = (0, 2, 3)
        loss = (x.mean(dim=dims) ** 2).mean() + ((torch.sqrt(x.var(dim=dims, unbiased=False) + 1e-12) - 1) ** 2).mean()
        by_mod = {id(mod): z for mod, z in acts}
        for mod, mu, sigma, eps in targets:
            z = by_mod[id(mod)]
            loss = loss + ((z.mean(dim=dims) - mu) ** 2).mean() + ((torch.sqrt(z.var(dim=dims, unbiased=False) + eps) - sigma) ** 2).mean()
        return loss

    opt = torch.optim.Adam([x], lr=0.5)
    loss = None
    t0 = time.time()
    for _ in range(a.steps):
        opt.zero_grad()
        loss = objective()
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.copy_(torch.minimum(torch.maximum(x, lo), hi))
    dt = time.time() - t0
    with torch.no_grad():
        final = objective().item()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    per_step = dt / a.steps if a.steps else float("nan")
    ips = a.batch / dt if dt > 0 else float("nan")
    print(f"pytorch {torch.__version__}  arch {a.arch}  input {'x'.join(map(str, shape))}  threads {a.threads}  batch {a.batch}  "
          f"steps {a.steps}  seconds {dt:.2f}  s/step {per_step:.4f}  images/s {ips:.3f}  final loss {final:.5f}  "
          f"last-step loss {loss.item() if loss is not None else float('nan'):.5f}  peak RSS {rss:.0f} MB", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"arch": a.arch, "input": list(shape), "threads": a.threads, "batch": a.batch, "steps": a.steps,
                       "init": a.init, "seconds": dt, "seconds_per_step": per_step, "images_per_second": ips,
                       "final_loss": final, "peak_rss_mb": rss, "torch": torch.__version__}, f, indent=1)


if __name__ == "__main__":
    main()
