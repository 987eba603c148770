"""Workload YAML: the network, its training hyper-parameters and where its traces come from."""
from __future__ import annotations

from pathlib import Path

from ..arch import read_yaml
from ..errors import InputError
from ..paths import WORKLOAD_DIR, display_path
from ..params import REQUIRED, Config, Group, ListOf, OneOf, Param, apply_overrides, overridden_keys


MODES = ("train", "inference", "input_gradient")

_name = Param("str", None, "layer name (default: type and index, e.g. conv2d_0)", nullable=True)
_input = Param("str", None, "name of the layer whose output feeds this one (default: the "
               "previous layer)", nullable=True)

LAYER_VARIANTS = {
    "conv2d": Group("2-D convolution followed by LIF neurons (a weighted layer)", {
        "name": _name, "input": _input,
        "out_channels": Param("int", REQUIRED, "output channels", "channel", min=1),
        "kernel": Param("int", 3, "square kernel size", "pixel", min=1),
        "stride": Param("int", 1, "stride", "pixel", min=1),
        "padding": Param("int", None, "zero padding on each side (default: kernel // 2)",
                         "pixel", min=0, nullable=True),
    }),
    "linear": Group("fully connected layer followed by LIF neurons (a weighted layer)", {
        "name": _name, "input": _input,
        "out": Param("int", REQUIRED, "output neurons", "neuron", min=1),
    }),
    "avgpool": Group("average pooling of spikes (output is multi-level, not binary)", {
        "name": _name, "input": _input,
        "kernel": Param("int", 2, "square window", "pixel", min=1),
        "stride": Param("int", None, "stride (default: kernel)", "pixel", min=1, nullable=True),
    }),
    "maxpool": Group("max pooling of spikes (OR over the window; stays binary)", {
        "name": _name, "input": _input,
        "kernel": Param("int", 2, "square window", "pixel", min=1),
        "stride": Param("int", None, "stride (default: kernel)", "pixel", min=1, nullable=True),
    }),
    "flatten": Group("reshape a C x H x W map to a vector (HWC order, channel innermost)", {
        "name": _name, "input": _input,
    }),
    "add": Group("element-wise add of two same-shape tensors (residual connection)", {
        "name": _name,
        "inputs": Param("any", REQUIRED, "the two layers to add",
                        check=lambda v: isinstance(v, list) and len(v) == 2
                        and all(isinstance(x, str) for x in v),
                        expect="a list of two layer names"),
    }),
}

TRACE_SOURCES = {
    "trainer": Group("train the network with the built-in BPTT trainer, record one step", {
        "dataset": Param("choice", "digits", "bundled data set (no download)",
                         choices=("digits", "digits-dvs")),
        "epochs": Param("int", 20, "training epochs before the recorded step", "epoch", min=0),
        "train_batch": Param("int", 32, "minibatch size while training", "sample", min=1),
        "seed": Param("int", 0, "seed for data split, initialisation and coding", min=0),
    }),
    "synthetic": Group("draw traces at given per-layer densities (for networks too big to "
                       "train here)", {
        "seed": Param("int", 0, "random seed", min=0),
        "input_density": Param("float", 0.2, "fraction of nonzero network inputs per time "
                               "step", "fraction", min=0, max=1),
        "firing": Param("float_or_list", 0.15, "firing density per weighted layer (one value "
                        "for all, or one per layer)", "fraction", min=0, max=1),
        "gradient": Param("float_or_list", 0.2, "fraction of nonzero g(U) per weighted layer",
                          "fraction", min=0, max=1),
        "temporal_correlation": Param("float", 0.5, "probability that a neuron repeats its "
                                      "previous time step's state instead of a fresh draw",
                                      "fraction", min=0, max=1),
        "spatial_correlation": Param("float", 0.0, "weight of a 3x3 neighbourhood in the "
                                     "fresh draws of C x H x W maps (0 = independent "
                                     "neurons); the per-neuron density is unchanged, but "
                                     "neighbours fire together so pooling inflates density "
                                     "less", "fraction", min=0, max=1),
    }),
    "file": Group("load traces from a neurosim .npz trace file", {
        "path": Param("str", REQUIRED, "trace file, relative to the workload file"),
    }),
}

WORKLOAD_SCHEMA = Group("a workload", {
    "name": Param("str", "unnamed", "workload name"),
    "description": Param("str", "-", "free text"),
    "network": Group("the spiking network", {
        "input": Group("the network input", {
            "shape": Param("int_list", REQUIRED, "input shape: [C, H, W] for images or [N] "
                           "for vectors", min=1,
                           check=lambda v: len(v) in (1, 3),
                           expect="a list [C, H, W] or [N] of positive integers"),
            "coding": Param("choice", "direct", "direct (analog values every step), rate "
                            "(Poisson spikes) or dvs (binary event frames)",
                            choices=("direct", "rate", "dvs")),
        }),
        "neuron": Group("LIF neuron parameters (all layers)", {
            "beta": Param("float", 0.9, "membrane decay per time step", min=0, max=1),
            "v_th": Param("float", 1.0, "firing threshold", "potential", min=0,
                          min_exclusive=True),
            "reset": Param("choice", "hard", "hard (to zero) or soft (subtract V_th) reset",
                           choices=("hard", "soft")),
        }),
        "surrogate": Group("surrogate gradient of the spike function", {
            "shape": Param("choice", "rectangular", "rectangular (1/a inside |U-V_th|<a/2), "
                           "triangle, sigmoid or atan",
                           choices=("rectangular", "triangle", "sigmoid", "atan")),
            "width": Param("float", 1.0, "width a", "potential", min=0, min_exclusive=True),
        }),
        "layers": ListOf("the layers, in order", LAYER_VARIANTS),
    }),
    "mode": Param("choice", "train", "the job the chip runs (docs/microarchitecture.md 3.6): "
                  "train (FP, LOSS, BP, WG, UPD: a BPTT training step), inference (FP only: "
                  "no state kept for backward) or input_gradient (FP, LOSS and BP down to the "
                  "network input, g(input), without weight gradients or update)",
                  choices=MODES),
    "time_steps": Param("int", REQUIRED, "time steps T per sample", "step", min=1),
    "batch": Param("int", REQUIRED, "samples per step (train: the weights update once per "
                   "batch)", "sample", min=1),
    "repeats": Param("int", 1, "Poisson re-draws of the same input batch (inference with "
                     "rate coding, e.g. randomized smoothing): the step runs batch x "
                     "repeats samples, sample r*batch + i being draw r of input i",
                     "draw", min=1),
    "loss": Group("loss on the last layer", {
        "type": Param("choice", "ce_count", "cross-entropy on spike counts, on the final "
                      "membrane, or MSE on spike rates",
                      choices=("ce_count", "ce_membrane", "mse_count")),
    }),
    "optimizer": Group("weight update at the end of each batch", {
        "type": Param("choice", "sgd", "plain SGD or SGD with momentum",
                      choices=("sgd", "momentum")),
        "lr": Param("float", 0.1, "learning rate", min=0, min_exclusive=True),
        "momentum": Param("float", 0.9, "momentum (type momentum only)", min=0, max=1),
    }),
    "mapping": Group("optional explicit mapping of weighted layers to cores", {
        "strategy": Param("choice", None, "override the arch config's mapping strategy",
                          choices=("auto", "layer-pipelined", "output-split",
                                   "data-parallel", None), nullable=True),
        "layers": Param("any", None, "explicit {layer name: [core ids]} (output-split across "
                        "the listed cores)", nullable=True,
                        check=lambda v: isinstance(v, dict),
                        expect="a mapping of layer name to a list of core ids"),
    }),
    "traces": OneOf("where the traces come from", TRACE_SOURCES, "synthetic"),
})


def resolve_workload_path(name_or_path) -> Path:
    """A file as given, else a shipped workload by name or by its path under ``workloads/``
    (``mlp-digits``, ``modes/rsc-mlp-digits``, ``workloads/modes/rsc-mlp-digits.yaml``), in
    any install."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    rel = Path(*p.parts[1:]) if p.parts[:1] == ("workloads",) and len(p.parts) > 1 else p
    for q in (rel, Path(p.name)):
        for c in (WORKLOAD_DIR / q, WORKLOAD_DIR / (str(q) + ".yaml")):
            if c.is_file():
                return c
    return p


def load_workload(path_or_dict, overrides: list[str] | None = None) -> Config:
    """Load and validate a workload; the network's shapes are checked too."""
    from .network import build_network

    if isinstance(path_or_dict, dict):
        raw, source, base_dir = dict(path_or_dict), "<dict>", Path.cwd()
    else:
        path = resolve_workload_path(path_or_dict)
        raw, source, base_dir = read_yaml(path, "workload"), display_path(path), path.parent
    raw = apply_overrides(raw, overrides, WORKLOAD_SCHEMA)
    data = WORKLOAD_SCHEMA.validate(raw, source, "")
    if data["traces"]["source"] == "file":
        p = Path(data["traces"]["path"])
        data["traces"]["path"] = str(p if p.is_absolute() else (base_dir / p))
    wl = Config(data, source, overridden=overridden_keys(overrides))
    if data["repeats"] > 1 and (data["mode"] != "inference"
                                or data["network"]["input"]["coding"] != "rate"):
        raise wl.error("repeats", "1 unless mode is inference and network.input.coding is "
                       "rate (repeats are Poisson re-draws of the input)", data["repeats"])
    build_network(wl)  # shape errors surface at load time
    return wl


def density_for(value, n_layers: int, wl: Config, key: str) -> list[float]:
    """Expand a float-or-list density into one value per weighted layer."""
    if isinstance(value, list):
        if len(value) != n_layers:
            raise wl.error(key, f"one value per weighted layer ({n_layers})", value)
        return list(value)
    return [float(value)] * n_layers


__all__ = ["MODES", "WORKLOAD_SCHEMA", "load_workload", "density_for", "InputError"]
