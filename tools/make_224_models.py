#!/usr/bin/env python3
"""Builds the two 224x224 ImageNet shapes the synthesis benchmark runs on, in plain PyTorch (no
torchvision), and writes them to OUTDIR as ONNX and as state_dicts:

  resnet18.onnx, resnet18.pt        torchvision's ResNet-18 layout: 7x7/2 stem + BN + ReLU, 3x3/2 max pool,
                                    4 stages of 2 BasicBlocks (64, 128, 256, 512; 1x1 conv + BN downsample),
                                    global average pool, fc 512 -> 1000 (11.7 M parameters)
  mobilenetv2.onnx, mobilenetv2.pt  torchvision's MobileNetV2, width 1.0: inverted residuals (1x1 expand,
                                    3x3 depthwise, 1x1 linear projection, each + BN, ReLU6), 1280 features,
                                    dropout + fc -> 1000 (3.5 M parameters)

The module and parameter names are torchvision's, so its state_dicts load into these classes and back.
Weights are seeded at random (torchvision's initialization), BN scales and shifts are drawn away from
(1, 0), and the BN running statistics are what the layers actually see: --calib forward passes in
train mode (cumulative average, momentum None) over smooth random images (multi-octave noise in
[0, 1], normalized with the ImageNet mean and std below), then eval mode. Untrained: the logits mean
nothing, but every BN layer has non-trivial statistics to match.

Exported as a user would: opset 13, training=TrainingMode.PRESERVE, do_constant_folding=False
(BatchNormalization kept), input `input` [N, 3, 224, 224] (dynamic N), output `logits` [N, 1000]. Each
export is checked here with onnx.checker and by comparing the ONNX file's weights with the module's (no
onnxruntime in Debian's python3), and its graph by bench/Real224Check.java (ONNX Runtime's Java API and zsq's
FP32 import against PyTorch's logits, run by bench/real-224.sh).

Beside each model, ARCH.check.input.f32 and ARCH.check.logits.f32: --check smooth images (normalized) and
PyTorch's logits on them, raw little-endian float32, for bench/Real224Check.java (ONNX Runtime, zsq's FP32
import and the integer model against PyTorch).

Generated at benchmark time, never committed (ResNet-18 is ~45 MB).
Run: /usr/bin/python3 tools/make_224_models.py OUTDIR [--models resnet18,mobilenetv2] [--seed 1] [--calib 20] [--check 4]
"""
import argparse, os, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
SHAPE = (3, 224, 224)


# ---- ResNet-18 (torchvision.models.resnet18 layout and names) ----

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, cout in enumerate([64, 128, 256, 512]):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)
        for m in self.modules():  # torchvision's initialization
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ---- MobileNetV2 (torchvision.models.mobilenet_v2 layout and names, width 1.0) ----

def conv_bn_act(cin, cout, k, stride, groups=1):
    """torchvision's Conv2dNormActivation: conv (no bias) + BN + ReLU6, as a Sequential (names 0, 1, 2)."""
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = int(round(cin * expand))
        self.use_res_connect = stride == 1 and cin == cout
        layers = [conv_bn_act(cin, hidden, 1, 1)] if expand != 1 else []
        layers += [conv_bn_act(hidden, hidden, 3, stride, groups=hidden),  # depthwise
                   nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]  # linear projection
        self.conv = nn.Sequential(*layers)
        self.out_channels = cout

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    # expansion t, channels c, repeats n, first stride s (the paper's Table 2)
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, num_classes=1000, dropout=0.2):
        super().__init__()
        features = [conv_bn_act(3, 32, 3, 2)]
        cin = 32
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                features.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        features.append(conv_bn_act(cin, 1280, 1, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(1280, num_classes))
        for m in self.modules():  # torchvision's initialization
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


ARCHS = {"resnet18": ResNet18, "mobilenetv2": MobileNetV2}


def build(arch):
    """The untrained module of an architecture name (for loading a saved state_dict)."""
    return ARCHS[arch]()


def smooth_images(n, g):
    """n RGB images in [0, 1], 224x224: noise at 4 octaves (7, 28, 56, 224 pixels a side) upsampled bilinearly,
    a per-image color cast and contrast, squashed by a sigmoid; then normalized (ImageNet mean and std)."""
    h = SHAPE[1]
    x = torch.zeros(n, 3, h, h)
    for side, amp in [(7, 1.0), (28, 0.5), (56, 0.25), (224, 0.1)]:
        x += amp * F.interpolate(torch.randn(n, 3, side, side, generator=g), size=(h, h), mode="bilinear", align_corners=False)
    x = x * (0.5 + torch.rand(n, 1, 1, 1, generator=g)) + 0.5 * torch.randn(n, 3, 1, 1, generator=g)
    x = torch.sigmoid(1.5 * x)
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def make(arch, seed, calib, batch):
    torch.manual_seed(seed)
    m = build(arch)
    g = torch.Generator().manual_seed(seed + 1)
    bns = [b for b in m.modules() if isinstance(b, nn.BatchNorm2d)]
    with torch.no_grad():
        for b in bns:  # non-trivial affine parameters (a trained network's are far from 1 and 0)
            b.weight.copy_(0.5 + torch.rand(b.num_features, generator=g))
            b.bias.copy_(0.2 * torch.randn(b.num_features, generator=g))
        if arch == "resnet18":
            nn.init.normal_(m.fc.weight, 0, 0.02)
            nn.init.zeros_(m.fc.bias)
    # running statistics = the cumulative average of what each BN sees in train mode on smooth images
    for b in bns:
        b.reset_running_stats()
        b.momentum = None
    m.train()
    with torch.no_grad():
        for _ in range(calib):
            m(smooth_images(batch, g))
    for b in bns:
        b.momentum = 0.1
    return m.eval()


def export(m, path):
    x = torch.zeros(1, *SHAPE)
    torch.onnx.export(m, x, path, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)


def check(m, path):
    """onnx.checker, BatchNormalization kept, and every ONNX initializer equal to the module's tensor of that name."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path)
    onnx.checker.check_model(model)
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("BatchNormalization") == ops.count("Conv"), "BatchNormalization nodes were folded away"
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    sd = {k: v.numpy() for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")}
    missing = [k for k in sd if k not in init]
    assert not missing, f"{path}: state_dict tensors not in the ONNX initializers: {missing[:5]}"
    worst = max(float(np.abs(init[k] - sd[k]).max()) for k in sd)
    assert worst == 0.0, f"{path}: an initializer differs from the module's tensor by {worst}"
    return {o: ops.count(o) for o in sorted(set(ops))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--models", default="resnet18,mobilenetv2")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--calib", type=int, default=20, help="train-mode forward passes that set the BN statistics")
    ap.add_argument("--calib-batch", type=int, default=8)
    ap.add_argument("--check", type=int, default=4, help="images in ARCH.check.input.f32 / .logits.f32 (PyTorch's logits)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    os.makedirs(a.outdir, exist_ok=True)
    for arch in a.models.split(","):
        t0 = time.time()
        m = make(arch, a.seed, a.calib, a.calib_batch)
        pt, onnx_path = os.path.join(a.outdir, arch + ".pt"), os.path.join(a.outdir, arch + ".onnx")
        torch.save(m.state_dict(), pt)
        export(m, onnx_path)
        ops = check(m, onnx_path)
        bns = [b for b in m.modules() if isinstance(b, nn.BatchNorm2d)]
        xs = smooth_images(a.check, torch.Generator().manual_seed(a.seed + 2))
        with torch.no_grad():
            y = m(xs)
        check_prefix = os.path.join(a.outdir, arch + ".check")  # PyTorch's logits on a few images: bench/Real224Check.java
        xs.numpy().astype("<f4").tofile(check_prefix + ".input.f32")
        y.numpy().astype("<f4").tofile(check_prefix + ".logits.f32")
        rm = torch.cat([b.running_mean for b in bns]).abs().mean().item()
        rv = torch.cat([b.running_var for b in bns])
        print(f"{arch}: {sum(p.numel() for p in m.parameters()) / 1e6:.2f} M parameters, {len(bns)} BN layers "
              f"(|running_mean| {rm:.3f} on average, running_var {rv.min().item():.3g}..{rv.max().item():.3g}), "
              f"logits std {y.std().item():.3f}; wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.1f} MB) and {pt} "
              f"in {time.time() - t0:.0f} s; ops {ops}", flush=True)


if __name__ == "__main__":
    main()
