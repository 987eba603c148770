"""GPU baseline model: hand-worked kernel traces, the L2 filter, presets."""
import pytest

from neurosim.baselines.gpu import (L2Cache, build_step, gpu_dram_traffic, load_gpu,
                                    simulate)
from neurosim.errors import InputError
from neurosim.workload import build_network, load_workload


def _linear_wl(reset="hard"):
    """One linear LIF layer, 8 -> 4, T=2, batch 1, rate-coded input, plain SGD."""
    return load_workload({
        "name": "one-linear",
        "network": {"input": {"shape": [8], "coding": "rate"},
                    "neuron": {"beta": 0.5, "reset": reset},
                    "layers": [{"name": "fc", "type": "linear", "out": 4}]},
        "time_steps": 2, "batch": 1, "optimizer": {"type": "sgd", "lr": 0.1}})


def _trace(framework, l2_bytes):
    wl = _linear_wl()
    gpu = load_gpu("a100-40gb", framework, [f"l2_bytes={l2_bytes}", "l2_mode=unified"])
    step = build_step(build_network(wl), wl, gpu)
    return step, simulate(step, gpu, wl.name)


def _ops(step):
    return [(o.name, o.phase, [t.nbytes for t in o.reads], [t.nbytes for t in o.writes])
            for o in step.ops]


def test_spikingjelly_one_linear_layer_every_kernel():
    step, _ = _trace("spikingjelly", 1)
    # W: 8*4*4 = 128 B; input sequence 8*2*4 = 64 B; per-layer T-step tensors 4*2*4 = 32 B;
    # one-step tensors (v0, V, g(V), g(v0)) 4*4 = 16 B
    assert _ops(step) == [
        ("h2d_copy", "FP", [], [64]),
        ("linear_fwd", "FP", [64, 128], [32]),
        ("fill", "FP", [], [16]),
        ("lif_fwd", "FP", [32, 16], [32, 32, 16]),      # I, v0 -> S, H, V
        ("loss", "FP", [32], []),
        ("loss_grad", "LOSS", [], [32]),
        ("fill", "BP", [], [16]),                        # g(V) = 0
        ("lif_bwd", "BP", [32, 16, 32], [32, 16]),      # g(S), g(V), H -> g(I), g(v0)
        ("linear_wgrad", "WG", [32, 64], [128]),        # no dgrad: the input needs none
        ("weight_update", "UPD", [128, 128], [128]),
    ]


def test_spikingjelly_one_linear_layer_bytes_without_and_with_l2():
    _, none = _trace("spikingjelly", 1)  # nothing fits: every access is DRAM traffic
    assert none.by_kind() == {
        "weights": (128 + 128, 128), "input": (64 + 64, 64),
        "spikes": (32, 32), "state": (32 + 16 + 32, 32 + 16 + 32 + 16),
        "gradients": (32 + 16 + 32, 32 + 16 + 32 + 16), "wgrad": (128, 128),
        "optimizer": (0, 0)}
    assert (none.read_bytes, none.write_bytes) == (704, 544)
    assert none.kernels == 9
    _, big = _trace("spikingjelly", 1 << 30)  # steady state: everything stays in L2
    assert big.total_bytes == 0


def test_snntorch_one_linear_layer_every_byte():
    step, none = _trace("snntorch", 1)
    names = [o.name for o in step.ops]
    per_step_fwd = ["linear_fwd", "sub", "gt", "to_float", "rsub", "mul", "mul", "add",
                    "sub", "gt", "to_float", "mul"]
    atan = ["clone", "mul", "pow_", "add", "reciprocal", "mul", "mul"]
    assert names == (["h2d_copy", "fill"] + per_step_fwd * 2 + ["stack", "loss", "loss_grad"]
                     + ["mul"] + atan + ["mul", "mul", "linear_wgrad"]          # t = 1
                     + ["mul"] + atan + ["grad_accumulate", "linear_wgrad",     # t = 0
                                         "grad_accumulate", "weight_update"])
    assert none.kernels == 51
    # hand count (docs/gpu-baseline.md): per step tensors 16 B, bools 4 B, input 32 B
    assert none.by_kind() == {
        "weights": (384, 128), "input": (128, 64), "spikes": (144, 144),
        "state": (336, 240), "gradients": (352, 336), "wgrad": (384, 384),
        "optimizer": (0, 0)}
    # FP: fill 16 + input copy 64 + 2 x (linear 176 + LIF 336) + stack 64 + loss 32
    # BP: 2 x (spike mul 32 + ATan 240) + t=1 reset path 80 + accumulate 48
    # WG: 2 x wgrad 176 + accumulate 384; UPD: read W, g(W), write W
    assert by_phase_total(none) == {"FP": 1200, "LOSS": 32, "BP": 672, "WG": 736, "UPD": 384}
    assert none.read_bytes + none.write_bytes == 1728 + 1296


def by_phase_total(res):
    return {p: r + w for p, (r, w) in res.by_phase().items()}


def test_momentum_adds_buffer_traffic():
    wl = load_workload({
        "name": "m", "network": {"input": {"shape": [8], "coding": "rate"},
                                 "layers": [{"name": "fc", "type": "linear", "out": 4}]},
        "time_steps": 2, "batch": 1, "optimizer": {"type": "momentum", "lr": 0.1}})
    gpu = load_gpu("a100-40gb", "spikingjelly", ["l2_bytes=1"])
    res = simulate(build_step(build_network(wl), wl, gpu), gpu)
    # mul_(M); add_(M, G); add_(W, M): M read 3x, written 2x; W read+written; G read once
    assert res.by_kind()["optimizer"] == (3 * 128, 2 * 128)
    assert res.by_phase()["UPD"] == (3 * 128 + 128 + 128, 2 * 128 + 128)


def test_l2_reuse_within_capacity_hits_beyond_misses():
    events = []
    l2 = L2Cache(4, lambda w, n, tag: events.append((w, n, tag)))
    for k in "abcd":
        assert l2.read(k, 1, "r") is False  # cold misses
    assert [e for e in events if not e[0]] == [(False, 1, "r")] * 4
    events.clear()
    assert all(l2.read(k, 1, "r") for k in "abcd")  # reuse within capacity: hits
    assert events == []
    l2.read("e", 1, "r")  # beyond capacity: evicts the least recently used (a)
    assert l2.read("a", 1, "r") is False
    assert l2.read("e", 1, "r") is True
    # write-back: a dirty line costs a DRAM write only when evicted
    events.clear()
    l2.write("w", 1, "dirty")
    assert events == []
    for k in "pqrs":
        l2.read(k, 1, "r")
    assert (True, 1, "dirty") in events
    # a line bigger than the cache streams through
    events.clear()
    assert l2.read("huge", 5, "r") is False and l2.read("huge", 5, "r") is False
    l2.write("huge_w", 5, "d")
    assert events == [(False, 5, "r"), (False, 5, "r"), (True, 5, "d")]


def test_rewrite_of_resident_dirty_line_is_not_written_twice():
    events = []
    l2 = L2Cache(2, lambda w, n, tag: events.append((w, n, tag)))
    l2.write("x", 1, "first")
    l2.write("x", 1, "second")
    l2.read("y", 1, "r")
    l2.read("z", 1, "r")  # evicts x once, tagged by its last writer
    assert [e for e in events if e[0]] == [(True, 1, "second")]


def test_partitioned_l2_halves_capacity_and_filters_less():
    uni = gpu_dram_traffic("vgg11-cifar10", "h100", "spikingjelly", ["l2_mode=unified"])
    part = gpu_dram_traffic("vgg11-cifar10", "h100", "spikingjelly")
    assert part.l2_effective_bytes == uni.l2_effective_bytes // 2 == 52428800 // 2
    assert part.total_bytes > uni.total_bytes
    # the L2 only ever removes traffic
    unf = sum(uni.unfiltered_read.values())
    assert uni.read_bytes <= unf


def test_per_step_loop_moves_more_than_multi_step():
    sj = gpu_dram_traffic("vgg11-cifar10", "a100-40gb", "spikingjelly", ["l2_bytes=1"])
    st = gpu_dram_traffic("vgg11-cifar10", "a100-40gb", "snntorch", ["l2_bytes=1"])
    # snnTorch computes a full-size weight gradient at every time step and sums them
    assert st.by_kind()["wgrad"][1] > 2 * sj.by_kind()["wgrad"][1]
    assert st.total_bytes > sj.total_bytes


def test_bad_gpu_inputs_are_one_line_errors():
    with pytest.raises(InputError, match="--gpu: .*one of a100-40gb, a100-80gb, h100"):
        load_gpu("v100")
    with pytest.raises(InputError, match="l2_mode: expected one of unified, partitioned"):
        load_gpu("h100", None, ["l2_mode=split"])
    with pytest.raises(InputError, match="activation_bytes"):
        load_gpu("h100", None, ["activation_bytes=8"])
