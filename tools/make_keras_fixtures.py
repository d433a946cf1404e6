#!/usr/bin/env python3
"""Writes the Keras 2 HDF5 test fixtures of KerasImportTest (zsq-core/src/test/resources/keras/) by hand,
without TensorFlow or Keras, and computes each model's expected output with its own numpy forward.

The files follow what tf.keras 2.x `model.save("m.h5")` writes: root attributes `model_config` (JSON,
bytes), `keras_version`, `backend` and, for a compiled model, `training_config`; a group `model_weights`
with the attributes `layer_names`, `backend`, `keras_version`; one group per layer with the attribute
`weight_names` (e.g. b"conv/kernel:0"), each weight stored at `model_weights/<layer>/<layer>/kernel:0`.
Kernels are in Keras's layouts: Conv2D [kh, kw, in, out], DepthwiseConv2D [kh, kw, in, multiplier],
Dense [in, units]; BatchNormalization holds gamma, beta, moving_mean, moving_variance.

The reference forward is written here in NHWC (channels_last, as Keras computes): its own convolution
(TF "same"/"valid" padding, dilation, depthwise, separable), BatchNormalization in inference mode, pooling,
Flatten in H, W, C order, Dense. Expected outputs are the logits: zsq drops a final softmax.

For each model NAME:
  NAME.h5            the model
  NAME.inputs.f32    BATCH inputs, NHWC, little-endian float32
  NAME.outputs.f32   BATCH expected outputs (logits), little-endian float32
  NAME.json          {"batch", "input_nhwc", "output", "softmax_dropped", "batch_norms"}
Bad-input fixtures (no expected outputs): lambda.h5 (a Lambda layer), dilated.h5 (a dilated Conv2D),
weights_only.h5 (what model.save_weights writes: no model_config), keras3.h5 (keras_version 3.3.3).

Run: /usr/bin/python3 tools/make_keras_fixtures.py [--out zsq-core/src/test/resources/keras]
Needs numpy and h5py (Debian's python3-h5py); outside the Java build. Deterministic (seeded).
"""
import argparse
import json
import os

import h5py
import numpy as np

KERAS_VERSION = "2.11.0"
BATCH = 3


# ---------------------------------------------------------------- Keras 2 layer configurations

def _init(name):
    return {"class_name": name, "config": {"seed": None} if name == "GlorotUniform" else {}}


def input_layer(name, hwc):
    return "InputLayer", {"batch_input_shape": [None] + list(hwc), "dtype": "float32", "sparse": False,
                          "ragged": False, "name": name}


def conv2d(name, filters, k, strides=1, padding="valid", dilation=1, use_bias=True, activation="linear"):
    return "Conv2D", {"name": name, "trainable": True, "dtype": "float32", "filters": filters,
                      "kernel_size": [k, k], "strides": [strides, strides], "padding": padding,
                      "data_format": "channels_last", "dilation_rate": [dilation, dilation], "groups": 1,
                      "activation": activation, "use_bias": use_bias,
                      "kernel_initializer": _init("GlorotUniform"), "bias_initializer": _init("Zeros"),
                      "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                      "kernel_constraint": None, "bias_constraint": None}


def depthwise2d(name, k, multiplier=1, padding="valid", use_bias=True):
    return "DepthwiseConv2D", {"name": name, "trainable": True, "dtype": "float32", "kernel_size": [k, k],
                               "strides": [1, 1], "padding": padding, "data_format": "channels_last",
                               "dilation_rate": [1, 1], "groups": 1, "activation": "linear",
                               "use_bias": use_bias, "bias_initializer": _init("Zeros"),
                               "bias_regularizer": None, "activity_regularizer": None, "bias_constraint": None,
                               "depth_multiplier": multiplier, "depthwise_initializer": _init("GlorotUniform"),
                               "depthwise_regularizer": None, "depthwise_constraint": None}


def separable2d(name, filters, k, padding="valid", multiplier=1):
    return "SeparableConv2D", {"name": name, "trainable": True, "dtype": "float32", "filters": filters,
                               "kernel_size": [k, k], "strides": [1, 1], "padding": padding,
                               "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
                               "activation": "linear", "use_bias": True, "bias_initializer": _init("Zeros"),
                               "bias_regularizer": None, "activity_regularizer": None, "bias_constraint": None,
                               "depth_multiplier": multiplier, "depthwise_initializer": _init("GlorotUniform"),
                               "pointwise_initializer": _init("GlorotUniform"), "depthwise_regularizer": None,
                               "pointwise_regularizer": None, "depthwise_constraint": None,
                               "pointwise_constraint": None}


def batch_norm(name, eps=1e-3):
    return "BatchNormalization", {"name": name, "trainable": True, "dtype": "float32", "axis": [3],
                                  "momentum": 0.99, "epsilon": eps, "center": True, "scale": True,
                                  "beta_initializer": _init("Zeros"), "gamma_initializer": _init("Ones"),
                                  "moving_mean_initializer": _init("Zeros"),
                                  "moving_variance_initializer": _init("Ones"),
                                  "beta_regularizer": None, "gamma_regularizer": None,
                                  "beta_constraint": None, "gamma_constraint": None}


def activation(name, fn):
    return "Activation", {"name": name, "trainable": True, "dtype": "float32", "activation": fn}


def relu_layer(name, max_value=None):
    return "ReLU", {"name": name, "trainable": True, "dtype": "float32", "max_value": max_value,
                    "negative_slope": 0.0, "threshold": 0.0}


def pool(name, k, kind="MaxPooling2D"):
    return kind, {"name": name, "trainable": True, "dtype": "float32", "pool_size": [k, k],
                            "padding": "valid", "strides": [k, k], "data_format": "channels_last"}


def global_avg_pool(name):
    return "GlobalAveragePooling2D", {"name": name, "trainable": True, "dtype": "float32",
                                      "data_format": "channels_last", "keepdims": False}


def zero_pad(name, p):
    return "ZeroPadding2D", {"name": name, "trainable": True, "dtype": "float32", "padding": [[p, p], [p, p]],
                             "data_format": "channels_last"}


def flatten(name):
    return "Flatten", {"name": name, "trainable": True, "dtype": "float32", "data_format": "channels_last"}


def dense(name, units, activation="linear"):
    return "Dense", {"name": name, "trainable": True, "dtype": "float32", "units": units,
                     "activation": activation, "use_bias": True, "kernel_initializer": _init("GlorotUniform"),
                     "bias_initializer": _init("Zeros"), "kernel_regularizer": None, "bias_regularizer": None,
                     "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}


def add(name):
    return "Add", {"name": name, "trainable": True, "dtype": "float32"}


def lambda_layer(name):
    # what Keras writes for `Lambda(lambda x: x * 2.0)`: the marshalled bytecode, base64 (here a stand-in)
    return "Lambda", {"name": name, "trainable": True, "dtype": "float32",
                      "function": ["4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMIAAAAfABkARQAUwApAk7pAgAAAKkAKQHaAXhyAgAAAHICAAAA+gc8c3RkaW4+2gg8bGFtYmRhPgEAAADzAAAAAA==", None, None],
                      "function_type": "lambda", "module": "__main__", "output_shape": None,
                      "output_shape_type": "raw", "output_shape_module": None, "arguments": {}}


# ---------------------------------------------------------------- the numpy reference (NHWC)

def same_pads(n, k, s, d):
    """TF "same" padding: (before, after) for one spatial axis."""
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def ref_conv(x, w, b, strides, padding, dilation, depthwise=False):
    """x [N, H, W, C]; w [kh, kw, C, out] (or [kh, kw, C, m] depthwise: output channel c*m + j)."""
    kh, kw = w.shape[0], w.shape[1]
    if padding == "same":
        ph = same_pads(x.shape[1], kh, strides, dilation)
        pw = same_pads(x.shape[2], kw, strides, dilation)
        x = np.pad(x, ((0, 0), ph, pw, (0, 0)))
    n, h, wd, c = x.shape
    oh = (h - (kh - 1) * dilation - 1) // strides + 1
    ow = (wd - (kw - 1) * dilation - 1) // strides + 1
    out_c = c * w.shape[3] if depthwise else w.shape[3]
    y = np.zeros((n, oh, ow, out_c), np.float64)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dilation, j * dilation
            patch = x[:, r0:r0 + (oh - 1) * strides + 1:strides, c0:c0 + (ow - 1) * strides + 1:strides, :]
            if depthwise:
                # patch [n, oh, ow, C] times w[i, j] [C, m] -> [n, oh, ow, C, m] -> channel c*m + j
                y += (patch[..., :, None] * w[i, j][None, None, None]).reshape(n, oh, ow, out_c)
            else:
                y += patch @ w[i, j]
    if b is not None:
        y += b
    return y


def ref_bn(x, gamma, beta, mean, var, eps):
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def ref_max_pool(x, k):
    n, h, w, c = x.shape
    oh, ow = h // k, w // k
    return x[:, :oh * k, :ow * k, :].reshape(n, oh, k, ow, k, c).max(axis=(2, 4))


def ref_avg_pool(x, k):
    n, h, w, c = x.shape
    oh, ow = h // k, w // k
    return x[:, :oh * k, :ow * k, :].reshape(n, oh, k, ow, k, c).mean(axis=(2, 4))


def forward(model, x):
    """Runs the model description (below) on x [N, H, W, C] in float64; returns the logits."""
    values = {model["input"]: x.astype(np.float64)}
    for layer in model["layers"]:
        kind, name, inputs, w = layer["kind"], layer["name"], layer["inputs"], layer["weights"]
        a = values[inputs[0]]
        if kind == "Conv2D":
            y = ref_conv(a, w["kernel"], w.get("bias"), layer["strides"], layer["padding"], layer["dilation"])
        elif kind == "DepthwiseConv2D":
            y = ref_conv(a, w["depthwise_kernel"], w.get("bias"), 1, layer["padding"], 1, depthwise=True)
        elif kind == "SeparableConv2D":
            d = ref_conv(a, w["depthwise_kernel"], None, 1, layer["padding"], 1, depthwise=True)
            y = ref_conv(d, w["pointwise_kernel"], w["bias"], 1, "valid", 1)
        elif kind == "BatchNormalization":
            y = ref_bn(a, w["gamma"], w["beta"], w["moving_mean"], w["moving_variance"], layer["eps"])
        elif kind in ("Activation", "ReLU"):
            fn = layer["fn"]
            y = np.maximum(a, 0) if fn == "relu" else np.clip(a, 0, 6) if fn == "relu6" else a
        elif kind == "MaxPooling2D":
            y = ref_max_pool(a, layer["k"])
        elif kind == "AveragePooling2D":
            y = ref_avg_pool(a, layer["k"])
        elif kind == "GlobalAveragePooling2D":
            y = a.mean(axis=(1, 2))
        elif kind == "ZeroPadding2D":
            p = layer["p"]
            y = np.pad(a, ((0, 0), (p, p), (p, p), (0, 0)))
        elif kind == "Flatten":
            y = a.reshape(a.shape[0], -1)  # H, W, C order: channels_last
        elif kind == "Dense":
            y = a @ w["kernel"] + w["bias"]  # a final softmax is not applied: zsq outputs logits
        elif kind == "Add":
            y = a + sum(values[i] for i in inputs[1:])
        else:
            raise ValueError(kind)
        values[name] = y
    return values[model["layers"][-1]["name"]]


# ---------------------------------------------------------------- building models

class Builder:
    """Collects Keras layer configs, their weights (in Keras layouts) and the reference description."""

    def __init__(self, rng, input_name, hwc):
        self.rng = rng
        self.input_name = input_name
        self.hwc = list(hwc)
        self.configs = [(input_name, input_layer(input_name, hwc), [])]
        self.layers = []
        self.channels = {input_name: hwc[2]}

    def _add(self, name, cfg, inputs, weights, **ref):
        self.configs.append((name, cfg, inputs))
        self.layers.append(dict(kind=cfg[0], name=name, inputs=inputs, weights=weights, **ref))
        return name

    def conv(self, name, x, filters, k, strides=1, padding="valid", dilation=1, use_bias=True):
        c = self.channels[x]
        w = {"kernel": (self.rng.standard_normal((k, k, c, filters)) / np.sqrt(k * k * c)).astype(np.float32)}
        if use_bias:
            w["bias"] = (0.2 * self.rng.standard_normal(filters)).astype(np.float32)
        self.channels[name] = filters
        return self._add(name, conv2d(name, filters, k, strides, padding, dilation, use_bias), [x], w,
                         strides=strides, padding=padding, dilation=dilation)

    def depthwise(self, name, x, k, padding="valid"):
        c = self.channels[x]
        w = {"depthwise_kernel": (self.rng.standard_normal((k, k, c, 1)) / k).astype(np.float32),
             "bias": (0.2 * self.rng.standard_normal(c)).astype(np.float32)}
        self.channels[name] = c
        return self._add(name, depthwise2d(name, k, 1, padding), [x], w, padding=padding)

    def separable(self, name, x, filters, k, padding="valid", multiplier=2):
        c = self.channels[x]
        w = {"depthwise_kernel": (self.rng.standard_normal((k, k, c, multiplier)) / k).astype(np.float32),
             "pointwise_kernel": (self.rng.standard_normal((1, 1, c * multiplier, filters))
                                  / np.sqrt(c * multiplier)).astype(np.float32),
             "bias": (0.2 * self.rng.standard_normal(filters)).astype(np.float32)}
        self.channels[name] = filters
        return self._add(name, separable2d(name, filters, k, padding, multiplier), [x], w, padding=padding)

    def bn(self, name, x, eps=1e-3):
        c = self.channels[x]
        r = self.rng
        w = {"gamma": r.uniform(0.5, 1.5, c).astype(np.float32),
             "beta": (0.3 * r.standard_normal(c)).astype(np.float32),
             "moving_mean": (0.3 + 0.5 * r.standard_normal(c)).astype(np.float32),
             "moving_variance": r.uniform(0.4, 2.5, c).astype(np.float32)}
        self.channels[name] = c
        return self._add(name, batch_norm(name, eps), [x], w, eps=eps)

    def act(self, name, x, fn):
        self.channels[name] = self.channels[x]
        return self._add(name, activation(name, fn), [x], {}, fn=fn)

    def relu(self, name, x, max_value=None):
        self.channels[name] = self.channels[x]
        return self._add(name, relu_layer(name, max_value), [x], {}, fn="relu6" if max_value == 6.0 else "relu")

    def pool(self, name, x, k, kind="MaxPooling2D"):
        self.channels[name] = self.channels[x]
        return self._add(name, pool(name, k, kind), [x], {}, k=k)

    def gap(self, name, x):
        self.channels[name] = self.channels[x]
        return self._add(name, global_avg_pool(name), [x], {})

    def pad(self, name, x, p):
        self.channels[name] = self.channels[x]
        return self._add(name, zero_pad(name, p), [x], {}, p=p)

    def flatten(self, name, x, features):
        self.channels[name] = features
        return self._add(name, flatten(name), [x], {})

    def dense(self, name, x, units, fn="linear"):
        n = self.channels[x]
        w = {"kernel": (self.rng.standard_normal((n, units)) / np.sqrt(n)).astype(np.float32),
             "bias": (0.2 * self.rng.standard_normal(units)).astype(np.float32)}
        self.channels[name] = units
        return self._add(name, dense(name, units, fn), [x], w)

    def add(self, name, xs):
        self.channels[name] = self.channels[xs[0]]
        return self._add(name, add(name), list(xs), {})

    def lam(self, name, x):
        self.channels[name] = self.channels[x]
        self.configs.append((name, lambda_layer(name), [x]))
        return name

    def reference(self):
        return {"input": self.input_name, "layers": self.layers}


WEIGHT_ORDER = {"Conv2D": ["kernel", "bias"], "DepthwiseConv2D": ["depthwise_kernel", "bias"],
                "SeparableConv2D": ["depthwise_kernel", "pointwise_kernel", "bias"],
                "BatchNormalization": ["gamma", "beta", "moving_mean", "moving_variance"],
                "Dense": ["kernel", "bias"]}


def model_config(b, functional, model_name, keras_version):
    layers = []
    for name, (cls, cfg), inputs in b.configs:
        entry = {"class_name": cls, "config": cfg}
        if functional:
            entry["name"] = name
            entry["inbound_nodes"] = [[[i, 0, 0, {}] for i in inputs]] if inputs else []
        layers.append(entry)
    if functional:
        config = {"name": model_name, "layers": layers, "input_layers": [[b.input_name, 0, 0]],
                  "output_layers": [[b.configs[-1][0], 0, 0]]}
        cls = "Functional"
    else:
        config = {"name": model_name, "layers": layers}
        cls = "Sequential"
    return {"class_name": cls, "config": config, "keras_version": keras_version, "backend": "tensorflow"}


TRAINING_CONFIG = {  # what tf.keras 2.11 writes for compile(optimizer="adam", loss=..., metrics=["accuracy"])
    "loss": "categorical_crossentropy",
    "metrics": [[{"class_name": "MeanMetricWrapper",
                  "config": {"name": "accuracy", "dtype": "float32", "fn": "categorical_accuracy"}}]],
    "weighted_metrics": None, "loss_weights": None,
    "optimizer_config": {"class_name": "Custom>Adam",
                         "config": {"name": "Adam", "weight_decay": None, "clipnorm": None,
                                    "global_clipnorm": None, "clipvalue": None, "use_ema": False,
                                    "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                                    "jit_compile": False, "is_legacy_optimizer": False,
                                    "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999,
                                    "epsilon": 1e-07, "amsgrad": False}}}


def write_h5(path, b, functional, model_name, training=False, keras_version=KERAS_VERSION):
    """The layout of Keras 2's legacy HDF5 format (keras/saving/legacy/hdf5_format.py)."""
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = keras_version
        f.attrs["model_config"] = json.dumps(model_config(b, functional, model_name, keras_version)).encode("utf8")
        if training:
            f.attrs["training_config"] = json.dumps(TRAINING_CONFIG).encode("utf8")
        g = f.create_group("model_weights")
        # Sequential.layers leaves out the InputLayer; a functional model's layers include it
        names = [n for n, _, _ in (b.configs if functional else b.configs[1:])]
        g.attrs["layer_names"] = np.asarray([n.encode("utf8") for n in names])
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = keras_version.encode("utf8")
        weights = {layer["name"]: layer for layer in b.layers}
        for n, (cls, _), _ in (b.configs if functional else b.configs[1:]):
            lg = g.create_group(n)
            w = weights[n]["weights"] if n in weights else {}
            keys = [k for k in WEIGHT_ORDER.get(cls, []) if k in w]
            lg.attrs["weight_names"] = np.asarray([f"{n}/{k}:0".encode("utf8") for k in keys])
            for k in keys:
                lg.create_dataset(f"{n}/{k}:0", data=w[k])


def write_weights_only(path, b):
    """model.save_weights("w.h5"): the layer groups at the root, no model_config."""
    with h5py.File(path, "w") as f:
        names = [n for n, _, _ in b.configs[1:]]
        f.attrs["layer_names"] = np.asarray([n.encode("utf8") for n in names])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
        for layer in b.layers:
            lg = f.create_group(layer["name"])
            keys = [k for k in WEIGHT_ORDER.get(layer["kind"], []) if k in layer["weights"]]
            lg.attrs["weight_names"] = np.asarray([f"{layer['name']}/{k}:0".encode("utf8") for k in keys])
            for k in keys:
                lg.create_dataset(f"{layer['name']}/{k}:0", data=layer["weights"][k])


def write_expected(out, name, b, x, softmax_dropped):
    y = forward(b.reference(), x).astype(np.float32)
    x.astype("<f4").tofile(os.path.join(out, name + ".inputs.f32"))
    y.astype("<f4").tofile(os.path.join(out, name + ".outputs.f32"))
    meta = {"batch": int(x.shape[0]), "input_nhwc": list(x.shape[1:]), "output": list(y.shape[1:]),
            "softmax_dropped": softmax_dropped,
            "batch_norms": sum(1 for layer in b.layers if layer["kind"] == "BatchNormalization")}
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    return y


def seq_cnn(rng):
    """Sequential CNN, 12x12x3: Conv2D(+bias) -> BN -> ReLU -> MaxPool -> Conv2D -> BN -> ReLU -> GAP -> Dense softmax."""
    b = Builder(rng, "input_1", (12, 12, 3))
    x = b.conv("conv1", "input_1", 8, 3, padding="same")
    x = b.bn("bn1", x)
    x = b.act("relu1", x, "relu")
    x = b.pool("pool1", x, 2)
    x = b.conv("conv2", x, 8, 3, strides=2, padding="same", use_bias=False)
    x = b.bn("bn2", x)
    x = b.act("relu2", x, "relu")
    x = b.gap("gap", x)
    b.dense("logits", x, 5, "softmax")
    return b


def func_res(rng):
    """Functional, 10x8x3 (H != W): zero padding + depthwise, a ReLU6 layer, a residual Add, a separable
    convolution (depth multiplier 2), average pooling, then Flatten -> Dense (channels_last flatten order)."""
    b = Builder(rng, "image", (10, 8, 3))
    x = b.conv("stem", "image", 6, 3, padding="same")
    x = b.bn("stem_bn", x)
    a = b.act("stem_relu", x, "relu")
    y = b.pad("pad", a, 1)
    y = b.depthwise("dw", y, 3)
    y = b.bn("dw_bn", y)
    y = b.relu("dw_relu6", y, 6.0)
    y = b.conv("pw", y, 6, 1, use_bias=False)
    y = b.bn("pw_bn", y)
    x = b.add("residual", [y, a])
    x = b.act("res_relu", x, "relu")
    x = b.separable("sep", x, 5, 3, padding="same")
    x = b.bn("sep_bn", x)
    x = b.act("sep_relu", x, "relu")
    x = b.pool("pool", x, 2, "AveragePooling2D")  # 5 x 4 x 5
    x = b.flatten("flatten", x, 5 * 4 * 5)
    b.dense("head", x, 4)
    return b


def lambda_model(rng):
    b = Builder(rng, "input_1", (8, 8, 3))
    x = b.conv("conv", "input_1", 4, 3)
    x = b.bn("bn", x)
    x = b.lam("double", x)
    x = b.gap("gap", x)
    return b


def dilated_model(rng):
    b = Builder(rng, "input_1", (8, 8, 3))
    x = b.conv("conv_dilated", "input_1", 4, 3, dilation=2)
    x = b.bn("bn", x)
    x = b.gap("gap", x)
    b.dense("logits", x, 3)
    return b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="zsq-core/src/test/resources/keras")
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20240611)

    b = seq_cnn(rng)
    write_h5(os.path.join(out, "seq_cnn.h5"), b, False, "sequential", training=True)
    x = rng.standard_normal((BATCH, 12, 12, 3)).astype(np.float32)
    y = write_expected(out, "seq_cnn", b, x, softmax_dropped=True)
    print("seq_cnn", y.shape, float(np.abs(y).max()))

    b = func_res(rng)
    write_h5(os.path.join(out, "func_res.h5"), b, True, "model")
    x = rng.standard_normal((BATCH, 10, 8, 3)).astype(np.float32)
    y = write_expected(out, "func_res", b, x, softmax_dropped=False)
    print("func_res", y.shape, float(np.abs(y).max()))

    # the dense part of the Lambda model is left out: the import must stop at the Lambda
    write_h5(os.path.join(out, "lambda.h5"), lambda_model(rng), False, "sequential")
    write_h5(os.path.join(out, "dilated.h5"), dilated_model(rng), False, "sequential")
    tiny = Builder(rng, "input_1", (4, 4, 1))
    tiny.gap("gap", tiny.bn("bn", "input_1"))
    write_weights_only(os.path.join(out, "weights_only.h5"), tiny)
    write_h5(os.path.join(out, "keras3.h5"), tiny, False, "sequential", keras_version="3.3.3")


if __name__ == "__main__":
    main()
