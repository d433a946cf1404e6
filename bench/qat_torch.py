#!/usr/bin/env python3
"""zsq's Level-2 recipe in PyTorch, the peer zsq's fine-tuning speed is measured against (bench/qat-speed.sh).

Same models as bench/zeroq_torch.py (its build(): the bundled fmnist-resnet and the CIFAR-10 ResNet-32 with
the ONNX files' weights) and the recipe of `zsq quantize --level 2` (zsq-qat: Student, FineTuner,
Distillation, Optimizer):
  * teacher: the FP32 model, BatchNorm folded into the convolutions (zsq's teacher is its canonical graph,
    folded too; the same function as the model in eval mode), run without gradients;
  * student: the folded model with fake quantization, traced with torch.fx and rewritten:
      - weights per output channel, symmetric, restricted range [-(2^(b-1)-1), 2^(b-1)-1], learnable step
        sizes (LSQ: straight-through rounding, gradient scale 1/sqrt(weights per channel * qmax)), started
        at max|w| / qmax per channel;
      - activations per tensor, asymmetric over [-2^(b-1), 2^(b-1)-1] with the zero point fixed, learnable
        step size (LSQ, gradient scale 1/sqrt(features per image * (qmax - zp))), at zsq's quantization
        points (core QuantPoints): every conv/dense output after its fused ReLU, every residual add after
        its ReLU, the logits; pooling, flatten, slice and pad outputs are requantized with the parameters
        of the point they come from (their gradient goes to its step size), as zsq's graph does; the
        network input is quantized over the preprocessing's valid pixel range, its scale not learned;
        the initial activation ranges are min/max of the FP32 model over one random batch;
      - biases rounded to int32 at S_in * S_w[c] in the forward (S_in: the layer input's scale), float in
        the backward (straight-through, no gradient to the step sizes from the rounding);
    both LSQ quantizers are PyTorch's own kernels (torch._fake_quantize_learnable_per_{tensor,channel}_affine,
    what torch.ao.quantization's _LearnableFakeQuantize runs). Their backward truncates a negative zero point
    towards zero (zp + 0.5 cast to int: -8 acts as -7, which moves the clipping mask by a level), so the zero
    point is passed as 0 with the integer range shifted by -zp: the same function and the same gradients as
    zsq's formulas (but for float rounding at bin edges: x * (1/s) here, x / s in zsq, and activation ties
    round to even here, half up in zsq);
  * loss T^2 * KL(softmax(teacher/T) || softmax(student/T)), mean over the batch, T = 4;
  * Adam (betas 0.9/0.999, eps 1e-8), lr 1e-4 for weights and biases, 1e-3 for step sizes, cosine schedule to
    zero over all steps (warm-up included), step sizes kept >= 1e-3 of their start (zsq's floor);
  * each step: a batch from a fixed pool of images (here N(0, 1) clamped to the valid pixel range, as synthesis
    keeps its images; zsq: its synthetic set), each image shifted by a random (dy, dx) in [-side/8, side/8]
    with zeros coming in and flipped horizontally with probability 1/2 (FineTuner.images: flip, then shift),
    in torch; teacher forward, student forward and backward, optimizer step.
Not reproduced: zsq splits a step's batch into micro-batches of 16, one task each on Spark local[T], and sums
their gradients; PyTorch runs the batch as one with T intra-op threads (the same work per step).

Timing: the steps only (augmentation included), after --warmup steps (default 3); model building, tracing and
initialization are outside. Prints one line: arch, bits, batch, threads, seconds per step (median and mean over
the timed steps), peak RSS (ru_maxrss of the process); --json FILE writes the same as JSON.
--check prints, on a fixed batch (no augmentation, no step), the student's initial KD loss and its argmax agreement
with the teacher, and checks: the folded teacher against the unfolded model (~1e-6), the student with quantization
off against the teacher (0), that every parameter tensor gets a nonzero gradient, PyTorch's LSQ kernels with the
shifted range against zsq's formulas written out, and the vectorized crop/flip against a per-image loop.
Not reproduced: zsq's Level-1 starting point (its observer, BN-statistics ranges at 4 bits and fewer, bias
correction); here min/max over one batch, so the losses differ, not the work of a step.

Usage: /usr/bin/python3 bench/qat_torch.py [--arch fmnist-resnet|cifar-resnet32] [--bits 4 | --bits w4a4]
       [--threads 2] [--steps 20] [--warmup 3] [--batch 64] [--pool 64] [--model M.onnx] [--seed 1]
       [--json FILE] [--check]
"""
import argparse, json, math, operator, os, resource, statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.fx as fx
from torch.fx.experimental.optimization import fuse

sys.dont_write_bytecode = True  # no bench/__pycache__ from the import below
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zeroq_torch  # noqa: E402  (build(): the models with the ONNX weights)


class TraceableCifarResNet(zeroq_torch.CifarResNet):
    """zeroq_torch's CifarResNet with its pooling as fx can trace it: avg_pool2d over out.size()[3] is the global
    average of its square 8x8 maps, which adaptive_avg_pool2d(out, 1) computes without reading the size."""

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


# ---- quantizers ----

class InputQuant(nn.Module):
    """The network input: asymmetric over the preprocessing's valid pixel range, not learned (no gradient needed)."""

    def __init__(self, lo, hi, bits):
        super().__init__()
        self.qmin, self.qmax = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        scale, zp = from_range(lo, hi, self.qmin, self.qmax)
        self.register_buffer("scale", torch.tensor([scale]))
        self.zp = zp
        self.enabled = True

    def forward(self, x):
        if not self.enabled:
            return x
        return torch.fake_quantize_per_tensor_affine(x, float(self.scale), self.zp, self.qmin, self.qmax)


class ActQuant(nn.Module):
    """A learned activation point (LSQ, zero point fixed). Called again on pooled/flattened/sliced/padded
    outputs of its tensor (zsq's inherited parameters); the gradient scale is its source tensor's."""

    def __init__(self, bits):
        super().__init__()
        self.qmin, self.qmax = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        self.scale = nn.Parameter(torch.ones(1))
        self.register_buffer("zero", torch.zeros(1))  # the op's zero point: 0, the real one shifts the range
        self.zp, self.features, self.grad_factor = 0, None, 1.0
        self.mode = "observe"  # observe (FP32, min/max), fp32, quant
        self.lo, self.hi = math.inf, -math.inf

    def forward(self, x):
        if self.mode == "observe":
            if self.features is None:  # the first call is the source tensor (graph order)
                self.features = x[0].numel()
            self.lo, self.hi = min(self.lo, float(x.min())), max(self.hi, float(x.max()))
            return x
        if self.mode == "fp32":
            return x
        return torch._fake_quantize_learnable_per_tensor_affine(x, self.scale, self.zero, self.qmin - self.zp, self.qmax - self.zp,
                                                                self.grad_factor)

    def finish(self):
        scale, self.zp = from_range(self.lo, self.hi, self.qmin, self.qmax)
        with torch.no_grad():
            self.scale.fill_(scale)
        self.grad_factor = 1.0 / math.sqrt(self.features * max(1, self.qmax - self.zp))
        self.mode = "quant"


def from_range(lo, hi, qmin, qmax):
    """zsq's QParams.fromRange, asymmetric: the range widened to hold 0, spread over [qmin, qmax]."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo <= 0:
        return 1.0, 0
    scale = float(torch.tensor((hi - lo) / (qmax - qmin), dtype=torch.float32))
    zp = int(math.floor(qmin - lo / scale + 0.5))
    return scale, max(qmin, min(qmax, zp))


class QuantLayer(nn.Module):
    """A folded Conv2d or a Linear with LSQ per-channel weights and its bias rounded at S_in * S_w."""

    def __init__(self, m, bits, input_quant):
        super().__init__()
        self.conv = isinstance(m, nn.Conv2d)
        if self.conv:
            self.stride, self.padding, self.dilation, self.groups = m.stride, m.padding, m.dilation, m.groups
        w = m.weight.detach().clone()
        self.weight = nn.Parameter(w)
        self.bias = nn.Parameter(m.bias.detach().clone() if m.bias is not None else torch.zeros(w.shape[0]))
        self.qmax = (1 << (bits - 1)) - 1
        amax = w.abs().reshape(w.shape[0], -1).amax(1)
        self.scale = nn.Parameter(torch.where(amax > 0, amax / self.qmax, torch.ones_like(amax)))
        self.register_buffer("zero", torch.zeros(w.shape[0]))
        self.grad_factor = 1.0 / math.sqrt(w[0].numel() * self.qmax)
        self._in = (input_quant,)  # not a submodule: its step size is registered where it is applied
        self.quantized = True

    def forward(self, x):
        w, b = self.weight, self.bias
        if self.quantized:
            w = torch._fake_quantize_learnable_per_channel_affine(w, self.scale, self.zero, 0, -self.qmax, self.qmax, self.grad_factor)
            with torch.no_grad():
                sc = self._in[0].scale.detach().double() * self.scale.detach().double()
                bq = ((b.detach().double() / sc).round().clamp(-2.0 ** 31, 2.0 ** 31 - 1) * sc).float()
            b = b + (bq - b).detach()
        if self.conv:
            return F.conv2d(x, w, b, self.stride, self.padding, self.dilation, self.groups)
        return F.linear(x, w, b)


# ---- the student: fx rewrite of the folded model ----

ACTS = {F.relu, torch.relu, F.relu6}
ADDS = {operator.add, torch.add}
INHERIT_FN = {F.avg_pool2d, F.adaptive_avg_pool2d, F.max_pool2d, F.pad, torch.flatten, operator.getitem}
INHERIT_METHOD = {"flatten", "view", "reshape"}
INHERIT_MOD = (nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.MaxPool2d, nn.Flatten)


def student_of(folded, bits, input_range):
    gm = fx.symbolic_trace(folded)
    g, mods = gm.graph, dict(gm.named_modules())

    def kind(n):
        if n.op == "call_module":
            m = mods.get(n.target)
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                return "layer"
            if isinstance(m, (nn.ReLU, nn.ReLU6)):
                return "act"
            if isinstance(m, INHERIT_MOD):
                return "inherit"
            if isinstance(m, nn.BatchNorm2d):
                raise SystemExit(f"{n.target}: a BatchNorm not folded into a convolution")
        if n.op == "call_function":
            if n.target in ACTS:
                return "act"
            if n.target in ADDS and all(isinstance(a, fx.Node) for a in n.args[:2]):
                return "add"
            if n.target in INHERIT_FN:
                return "inherit"
        if n.op == "call_method":
            if n.target == "relu":
                return "act"
            if n.target == "add":
                return "add"
            if n.target in INHERIT_METHOD:
                return "inherit"
        return None

    def insert_after(node, target):
        with g.inserting_after(node):
            q = g.call_module(target, (node,))
        node.replace_all_uses_with(q, delete_user_cb=lambda u: u is not q)
        return q

    quant_nodes = {}  # inserted node -> its quantizer's name
    layers, points = [], []
    for n in list(g.nodes):
        k = kind(n)
        if n.op == "placeholder":
            gm.add_module("q_input", InputQuant(*input_range, bits))
            quant_nodes[insert_after(n, "q_input")] = "q_input"
        elif k in ("layer", "add"):
            if k == "layer":
                layers.append(n)
            users = list(n.users)
            p = users[0] if len(users) == 1 and kind(users[0]) == "act" else n  # the fused activation's output
            name = f"q_{len(points)}"
            gm.add_module(name, ActQuant(bits))
            points.append(name)
            quant_nodes[insert_after(p, name)] = name
        elif k == "inherit" and isinstance(n.args[0], fx.Node) and n.args[0] in quant_nodes:
            name = quant_nodes[n.args[0]]
            quant_nodes[insert_after(n, name)] = name
    for n in layers:
        src = n.args[0]
        if src not in quant_nodes:
            raise SystemExit(f"{n.target}: its input is not a quantized tensor ({src.op} {src.target})")
        gm.add_submodule(n.target, QuantLayer(mods[n.target], bits, gm.get_submodule(quant_nodes[src])))
    g.lint()
    gm.recompile()
    return gm, [gm.get_submodule(p) for p in points], [gm.get_submodule(n.target) for n in layers]


def set_quantized(gm, on):
    for m in gm.modules():
        if isinstance(m, ActQuant):
            m.mode = "quant" if on else "fp32"
        elif isinstance(m, (InputQuant,)):
            m.enabled = on
        elif isinstance(m, QuantLayer):
            m.quantized = on


# ---- augmentation: FineTuner.images in torch ----

def augment(x, gen):
    """Each image flipped horizontally with probability 1/2, then shifted by (dy, dx) in [-pad, pad], zeros coming in."""
    n, c, h, w = x.shape
    ph, pw = max(1, h // 8), max(1, w // 8)
    dy = torch.randint(-ph, ph + 1, (n,), generator=gen)
    dx = torch.randint(-pw, pw + 1, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    xp = F.pad(x, (pw, pw, ph, ph))
    rows = torch.arange(h)[None, :] + dy[:, None] + ph
    cols = torch.where(flip[:, None], torch.arange(w - 1, -1, -1)[None, :], torch.arange(w)[None, :]) + dx[:, None] + pw
    out = xp[torch.arange(n)[:, None, None], :, rows[:, :, None], cols[:, None, :]]  # N, H, W, C
    return out.permute(0, 3, 1, 2).contiguous(), (dy, dx, flip)


def augment_loop(x, dy, dx, flip):
    """The same, image by image and pixel by pixel as FineTuner.images reads (for --check)."""
    n, c, h, w = x.shape
    out = torch.zeros_like(x)
    for i in range(n):
        for y in range(h):
            sy = y + int(dy[i])
            if 0 <= sy < h:
                for xx in range(w):
                    sx = (w - 1 - xx if bool(flip[i]) else xx) + int(dx[i])
                    if 0 <= sx < w:
                        out[i, :, y, xx] = x[i, :, sy, sx]
    return out


def lsq_check():
    """PyTorch's LSQ kernels with the shifted range against zsq's formulas (Student.Pass.gradient and its
    Quantizer.backward): the largest differences of the outputs and of the input and step-size gradients."""
    g = torch.Generator().manual_seed(7)
    worst = 0.0
    for zp in (-8, -3, 0, 2):  # activations, per tensor: v = x / s, r = round(v) + zp
        x, dy, s, gf = torch.randn(10000, generator=g) * 0.5, torch.randn(10000, generator=g), 0.07, 0.3
        xs, ss = x.clone().requires_grad_(True), torch.tensor([s], requires_grad=True)
        y = torch._fake_quantize_learnable_per_tensor_affine(xs, ss, torch.zeros(1), -8 - zp, 7 - zp, gf)
        (y * dy).sum().backward()
        v = x / s
        r = torch.round(v) + zp
        out = (r < -8) | (r > 7)
        ds = torch.where(r < -8, dy * (-8 - zp), torch.where(r > 7, dy * (7 - zp), dy * ((r - zp) - v))).double().sum() * gf
        worst = max(worst, (y - (r.clamp(-8, 7) - zp) * s).abs().max().item(), (xs.grad - torch.where(out, 0 * dy, dy)).abs().max().item(),
                    abs(ss.grad.item() - ds.item()) / max(1.0, abs(ds.item())))
    w, dy = torch.randn(8, 4, 3, 3, generator=g), torch.randn(8, 4, 3, 3, generator=g)  # weights, per channel, restricted range
    sw = w.abs().amax((1, 2, 3)) / 7 * 0.8
    wr, swr = w.clone().requires_grad_(True), sw.clone().requires_grad_(True)
    y = torch._fake_quantize_learnable_per_channel_affine(wr, swr, torch.zeros(8), 0, -7, 7, 0.05)
    (y * dy).sum().backward()
    v = w / sw.view(-1, 1, 1, 1)
    r = torch.round(v)
    ds = torch.where(r < -7, dy * -7.0, torch.where(r > 7, dy * 7.0, dy * (r - v))).sum((1, 2, 3)) * 0.05
    return max(worst, (swr.grad - ds).abs().max().item(), (wr.grad - torch.where(r.abs() > 7, 0 * dy, dy)).abs().max().item(),
               (y - r.clamp(-7, 7) * sw.view(-1, 1, 1, 1)).abs().max().item())


def kd_loss(student, teacher, t):
    return F.kl_div(F.log_softmax(student / t, 1), F.log_softmax(teacher / t, 1), reduction="batchmean", log_target=True) * (t * t)


def parse_bits(v):
    v = v.lower()
    if v.isdigit():
        return int(v)
    if v.startswith("w") and "a" in v:
        w, a = v[1:].split("a")
        if w == a and w.isdigit():
            return int(w)
    raise argparse.ArgumentTypeError(f"--bits {v}: N or wNaN (the same width for weights and activations)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="fmnist-resnet", choices=["fmnist-resnet", "cifar-resnet32"])
    ap.add_argument("--model", help="the ONNX file whose initializers are the weights (default: as bench/zeroq_torch.py)")
    ap.add_argument("--bits", type=parse_bits, default=4, help="weights and activations, 2..8: 4 or w4a4 (default 4)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps before them (default 3)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--pool", type=int, default=64, help="images in the fixed pool the batches are drawn from (default 64)")
    ap.add_argument("--temperature", type=float, default=4.0)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--scale-lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--check", action="store_true", help="print the initial KD loss and equivalence checks on a fixed batch, no steps")
    a = ap.parse_args()
    if not 2 <= a.bits <= 8:
        raise SystemExit("--bits must be 2..8")
    if a.steps < 1 or a.warmup < 0 or a.batch < 1 or a.pool < 1 or a.threads < 1:
        raise SystemExit("--steps, --batch, --pool, --threads must be positive, --warmup >= 0")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    net, shape, mean, std = zeroq_torch.build(argparse.Namespace(arch=a.arch, model=a.model, weights=None))
    original = type(net).forward  # the model as zeroq_torch runs it (for --check)
    if isinstance(net, zeroq_torch.CifarResNet):
        net.__class__ = TraceableCifarResNet
    teacher = fuse(net).eval()  # BN folded (fuse_conv_bn_eval: W * g / sqrt(var + eps), beta - mean * g / sqrt(var + eps))
    for p in teacher.parameters():
        p.requires_grad_(False)
    c = shape[0]  # the valid pixel range per channel: pixels in [0, 1], then (x - mean) / std
    lo = torch.tensor([(0 - m) / sd for m, sd in zip(mean, std)]).view(1, c, 1, 1)
    hi = torch.tensor([(1 - m) / sd for m, sd in zip(mean, std)]).view(1, c, 1, 1)
    student, points, layers = student_of(fuse(net), a.bits, (lo.min().item(), hi.max().item()))
    images = lambda n, g: torch.minimum(torch.maximum(torch.randn(n, *shape, generator=g), lo), hi)  # N(0, 1) in the pixel range
    pool = images(a.pool, gen)
    set_quantized(student, False)
    for q in points:
        q.mode = "observe"
    with torch.no_grad():  # the activation ranges: min/max of the FP32 model over one random batch
        student(images(a.batch, gen))
    for q in points:
        q.finish()
    set_quantized(student, True)
    scales = [p for n, p in student.named_parameters() if n.endswith("scale")]
    others = [p for n, p in student.named_parameters() if not n.endswith("scale")]
    floors = [p.detach() * 1e-3 for p in scales]
    n_params = sum(p.numel() for p in scales) + sum(p.numel() for p in others)

    if a.check:
        x = images(a.batch, torch.Generator().manual_seed(a.seed + 1000))
        with torch.no_grad():
            t_unfolded, t = original(net, x), teacher(x)
            set_quantized(student, False)
            s_fp32 = student(x)
            set_quantized(student, True)
            s = student(x)
            loss = kd_loss(s, t, a.temperature).item()
        kd_loss(student(x), t, a.temperature).backward()
        params = list(student.parameters())
        reached = sum(1 for p in params if p.grad is not None and p.grad.abs().sum() > 0)
        lsq = lsq_check()
        y, (dy, dx, flip) = augment(x[:4], torch.Generator().manual_seed(a.seed))
        aug_diff = (y - augment_loop(x[:4], dy, dx, flip)).abs().max().item()
        agree = (s.argmax(1) == t.argmax(1)).float().mean().item() * 100
        print(f"check {a.arch} w{a.bits}a{a.bits}: {len(layers)} conv/dense layers, {len(points)} learned activation points, "
              f"{n_params} parameters; on {a.batch} N(0,1) images clamped to the pixel range: student's initial KD loss (T={a.temperature:g}) {loss:.5f}, "
              f"argmax agreement with the teacher {agree:.1f}%; |folded - unfolded teacher| {(t - t_unfolded).abs().max().item():.2e}, "
              f"|student unquantized - teacher| {(s_fp32 - t).abs().max().item():.2e}; nonzero gradients in {reached} of {len(params)} "
              f"parameter tensors; LSQ kernels vs zsq's formulas {lsq:.1e}; |crop/flip - per-image loop| {aug_diff:.1e}", flush=True)
        if aug_diff != 0 or lsq > 1e-5 or reached != len(params):
            raise SystemExit("check failed")
        return

    opt = torch.optim.Adam([{"params": others, "lr": a.lr}, {"params": scales, "lr": a.scale_lr}], betas=(0.9, 0.999), eps=1e-8)
    total = a.warmup + a.steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1 + math.cos(math.pi * k / total)))
    times, warm, losses = [], [], []
    for k in range(total):
        t0 = time.perf_counter()
        idx = torch.randperm(a.pool, generator=gen)[:a.batch] if a.batch <= a.pool else torch.randint(a.pool, (a.batch,), generator=gen)
        x, _ = augment(pool[idx], gen)
        with torch.no_grad():
            tl = teacher(x)
        loss = kd_loss(student(x), tl, a.temperature)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            for p, f in zip(scales, floors):
                torch.maximum(p, f, out=p)
        dt = time.perf_counter() - t0
        losses.append(loss.item())
        (times if k >= a.warmup else warm).append(dt)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    med, mean_t = statistics.median(times), statistics.fmean(times)
    print(f"pytorch {torch.__version__}  arch {a.arch}  input {'x'.join(map(str, shape))}  bits w{a.bits}a{a.bits}  batch {a.batch}  "
          f"threads {a.threads}  steps {a.steps} (+{a.warmup} warm-up)  s/step median {med:.4f} mean {mean_t:.4f}  "
          f"(warm-up {' '.join(f'{w:.3f}' for w in warm)})  loss {losses[0]:.4f} -> {losses[-1]:.4f}  peak RSS {rss:.0f} MB",
          flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"arch": a.arch, "input": list(shape), "bits": f"w{a.bits}a{a.bits}", "batch": a.batch, "pool": a.pool,
                       "threads": a.threads, "steps": a.steps, "warmup": a.warmup, "parameters": n_params,
                       "seconds_per_step_median": med, "seconds_per_step_mean": mean_t, "step_seconds": times, "warmup_seconds": warm,
                       "initial_loss": losses[0], "final_loss": losses[-1], "peak_rss_mb": rss, "torch": torch.__version__}, f, indent=1)


if __name__ == "__main__":
    main()
