"""Synthetic traces: spatially correlated maps keep their density but pool less; soft reset
changes the g(U) recurrence."""
import numpy as np

from neurosim.workload import get_traces, load_workload, unpack_bits
from neurosim.workload.network import Pool
from neurosim.workload.synthetic import correlated_bernoulli, derive_gu
from neurosim.workload.trace import pool_bits


def test_spatial_correlation_keeps_density_and_reduces_pooled_density():
    rng = np.random.default_rng(0)
    shape = (16, 8, 8)
    indep = correlated_bernoulli(rng, (64, 8, 1024), 0.07, 0.5, 0.0, shape)
    corr = correlated_bernoulli(rng, (64, 8, 1024), 0.07, 0.5, 0.9, shape)
    assert abs(indep.mean() - 0.07) < 0.003 and abs(corr.mean() - 0.07) < 0.003
    # exact marginal at the border too (the field is normalised per position)
    border = corr.reshape(64, 8, 8, 8, 16)[:, :, 0, 0].mean()
    assert abs(border - 0.07) < 0.02
    p_indep = pool_bits(indep, shape, Pool("max", 2, 2))[0].mean()
    p_corr = pool_bits(corr, shape, Pool("max", 2, 2))[0].mean()
    assert abs(p_indep - (1 - 0.93 ** 4)) < 0.01  # independent neurons: 1 - (1-p)^4
    assert p_corr < 0.9 * p_indep
    # neighbours fire together: P(right neighbour fires | neuron fires) > p
    m = corr.reshape(64, 8, 8, 8, 16)
    both = (m[:, :, :, :-1] & m[:, :, :, 1:]).mean()
    assert both / m[:, :, :, :-1].mean() > 2 * 0.07


def test_spatial_correlation_is_deterministic_and_off_by_default():
    d = {"name": "s", "time_steps": 3, "batch": 2,
         "network": {"input": {"shape": [2, 8, 8], "coding": "dvs"},
                     "layers": [{"name": "c", "type": "conv2d", "out_channels": 4},
                                {"type": "flatten"}, {"name": "fc", "type": "linear", "out": 3}]},
         "traces": {"source": "synthetic", "seed": 4, "spatial_correlation": 0.8}}
    a, b = get_traces(load_workload(d)), get_traces(load_workload(d))
    assert a.equals(b) and a.meta["spatial_correlation"] == 0.8
    d["traces"].pop("spatial_correlation")
    assert load_workload(d).traces.spatial_correlation == 0.0


def test_soft_reset_gradient_carry_is_not_gated_by_spikes():
    sg = np.array([[[False], [False], [True]]])
    s = np.array([[[True], [True], [False]]])
    assert derive_gu(sg, s, 0.9, "hard")[0, :, 0].tolist() == [False, False, True]
    assert derive_gu(sg, s, 0.9, "soft")[0, :, 0].tolist() == [True, True, True]
    d = {"name": "s", "time_steps": 4, "batch": 2,
         "network": {"input": {"shape": [10], "coding": "rate"}, "neuron": {"reset": "soft"},
                     "layers": [{"name": "fc", "type": "linear", "out": 50}]},
         "traces": {"source": "synthetic", "seed": 1, "firing": 0.5, "gradient": 0.2}}
    tr = get_traces(load_workload(d))
    sg = unpack_bits(tr["fc"].sg_mask, 50)
    spikes = unpack_bits(tr["fc"].out_spikes, 50)
    assert np.array_equal(unpack_bits(tr["fc"].gu_mask, 50), derive_gu(sg, spikes, 0.9, "soft"))
