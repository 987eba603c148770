"""One BPTT training step of a neurosim workload, built in snnTorch or SpikingJelly on a CUDA
GPU, for measuring its DRAM traffic with Nsight Compute (see ``run_ncu.sh`` and
docs/gpu-baseline.md, "Measuring a real GPU").

The network is the workload's (``neurosim.workload.build_network``): every weighted layer is a
bias-free ``Conv2d``/``Linear`` followed by LIF neurons; pooling and residual adds sit on the
edges exactly as the graph says. ``--warmup`` steps run first (allocator, cuDNN, Triton and L2
reach their steady state), then one step runs between ``cudaProfilerStart``/``Stop`` (the
only kernels ``ncu --profile-from-start off`` records). Its phases are separated by marker
kernels (``torch.cuda._sleep``, kernel name ``spin_kernel``): forward+loss | backward |
optimizer. ``ncu_to_csv.py`` turns ncu's raw CSV into neurosim's measured-CSV format.

Without ncu it can time steps (``--time-steps N``) for a wall-clock figure per step.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the neurosim checkout

from neurosim.workload import build_network, load_workload  # noqa: E402


def _pool(x, pool):
    if pool.kind == "max":
        return F.max_pool2d(x, pool.kernel, pool.stride)
    return F.avg_pool2d(x, pool.kernel, pool.stride)


class Net(nn.Module):
    """The weighted layers of a neurosim network graph, with pooling/add on the edges."""

    def __init__(self, net, wl, framework):
        super().__init__()
        self.net = net
        self.framework = framework
        self.T = net.time_steps
        self.ops = nn.ModuleDict()
        self.lifs = nn.ModuleDict()
        beta = float(wl.network.neuron.beta)
        hard = wl.network.neuron.reset == "hard"
        for hl in net.layers:
            if hl.kind == "conv":
                op = nn.Conv2d(hl.in_channels, hl.out_channels, hl.kernel, hl.stride,
                               hl.padding, bias=False)
            else:
                op = nn.Linear(hl.n_in, hl.n_out, bias=False)
            self.ops[hl.name] = op
            if framework == "snntorch":
                import snntorch as snn

                self.lifs[hl.name] = snn.Leaky(beta=beta,
                                               reset_mechanism="zero" if hard else "subtract")
            else:
                from spikingjelly.activation_based import neuron

                # decay_input=False: H = (1 - 1/tau) V + X, i.e. beta = 1 - 1/tau
                self.lifs[hl.name] = neuron.LIFNode(
                    tau=1.0 / (1.0 - beta), decay_input=False, v_threshold=1.0,
                    v_reset=0.0 if hard else None, detach_reset=True, step_mode="m")

    def forward_spikingjelly(self, x_seq):
        """x_seq: [T, B, *input_shape]. Every operator runs once over all T*B (multi-step)."""
        T, B = x_seq.shape[0], x_seq.shape[1]
        outs = {"input": x_seq}
        cache = {}
        for hl in self.net.layers:
            x = self._gather(hl, outs, cache, (T, B))
            y = self.ops[hl.name](x.reshape(T * B, *hl.in_shape))
            y = y.reshape(T, B, *hl.out_shape)
            outs[hl.name] = self.lifs[hl.name](y)
        return outs[self.net.layers[-1].name]  # [T, B, classes]

    def forward_snntorch(self, x_steps):
        """x_steps: list of T tensors [B, *input_shape]; one kernel per operator per step."""
        mems = {hl.name: self.lifs[hl.name].reset_mem() for hl in self.net.layers}
        rec = []
        for t in range(self.T):
            outs = {"input": x_steps[t]}
            cache = {}
            B = x_steps[t].shape[0]
            for hl in self.net.layers:
                x = self._gather(hl, outs, cache, (B,))
                cur = self.ops[hl.name](x.reshape(B, *hl.in_shape))
                spk, mems[hl.name] = self.lifs[hl.name](cur, mems[hl.name])
                outs[hl.name] = spk
            rec.append(outs[self.net.layers[-1].name])
        return torch.stack(rec)  # [T, B, classes]

    def _gather(self, hl, outs, cache, lead):
        total = None
        for e in hl.edges:
            key = (e.src, e.pools)
            if key not in cache:
                x = outs[e.src]
                if e.pools:
                    x = x.reshape(-1, *e.src_shape)
                    for p in e.pools:
                        x = _pool(x, p)
                    x = x.reshape(*lead, *x.shape[1:])
                cache[key] = x
            x = cache[key].reshape(*lead, *hl.in_shape)
            total = x if total is None else total + x
        return total


def make_batch(net, wl, gen, device):
    """Host-side batch, copied to the GPU before the step (as a DataLoader would)."""
    B, T = net.batch, net.time_steps
    shape = tuple(net.input_shape)
    if net.coding == "direct":
        x = torch.rand((B, *shape), generator=gen)
    else:  # rate / dvs: binary frames per time step
        x = (torch.rand((T, B, *shape), generator=gen) < 0.2).float()
    y = torch.randint(0, net.layers[-1].n_out, (B,), generator=gen)
    return x.to(device), y.to(device)


def train_step(model, opt, x, y, framework, mark):
    T = model.T
    opt.zero_grad(set_to_none=True)
    if framework == "spikingjelly":
        from spikingjelly.activation_based import functional

        functional.reset_net(model)
        x_seq = x.unsqueeze(0).repeat(T, *([1] * x.dim())) if model.net.coding == "direct" else x
        out = model.forward_spikingjelly(x_seq)
        logits = out.mean(0)
    else:
        x_steps = [x] * T if model.net.coding == "direct" else list(x.unbind(0))
        out = model.forward_snntorch(x_steps)
        logits = out.sum(0)
    loss = F.cross_entropy(logits, y)
    mark()
    loss.backward()
    mark()
    opt.step()
    return loss


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", required=True)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--framework", choices=("snntorch", "spikingjelly"), required=True)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--time-steps", type=int, default=0,
                    help="time this many steps (no profiler range) and print ms/step")
    ap.add_argument("--info", help="write a JSON with versions and settings here")
    args = ap.parse_args(argv)

    wl = load_workload(args.workload, args.overrides)
    net = build_network(wl)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    model = Net(net, wl, args.framework).to(dev)
    opt_cfg = wl.optimizer
    opt = torch.optim.SGD(model.parameters(), lr=float(opt_cfg.lr),
                          momentum=float(opt_cfg.momentum) if opt_cfg.type == "momentum" else 0.0)
    gen = torch.Generator().manual_seed(1)
    cuda = dev.type == "cuda"
    mark = (lambda: torch.cuda._sleep(1)) if cuda else (lambda: None)

    for _ in range(args.warmup):
        x, y = make_batch(net, wl, gen, dev)
        train_step(model, opt, x, y, args.framework, lambda: None)
    if cuda:
        torch.cuda.synchronize()
    x, y = make_batch(net, wl, gen, dev)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.profiler.start()
    mark()
    loss = train_step(model, opt, x, y, args.framework, mark)
    mark()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.profiler.stop()
    ms = None
    if args.time_steps:
        batches = [make_batch(net, wl, gen, dev) for _ in range(args.time_steps)]
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for x, y in batches:
            train_step(model, opt, x, y, args.framework, lambda: None)
        if cuda:
            torch.cuda.synchronize()
        ms = (time.perf_counter() - t0) * 1e3 / args.time_steps
        print(f"time per step: {ms:.3f} ms")
    info = {"workload": net.name, "overrides": args.overrides, "framework": args.framework,
            "batch": net.batch, "time_steps": net.time_steps, "loss": float(loss.detach()),
            "torch": torch.__version__, "ms_per_step": ms}
    if cuda:
        p = torch.cuda.get_device_properties(0)
        info.update(gpu=p.name, l2_bytes=getattr(p, "L2_cache_size", None),
                    cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version())
    try:
        if args.framework == "snntorch":
            import snntorch
            info["snntorch"] = snntorch.__version__
        else:
            import spikingjelly
            info["spikingjelly"] = getattr(spikingjelly, "__version__", "2.0.0")
    except Exception:  # pragma: no cover - version strings only
        pass
    print(json.dumps(info))
    if args.info:
        Path(args.info).write_text(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
