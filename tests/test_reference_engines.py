"""Reference model, engines (spec section 2): tile lengths, SRAM slots and event counts of
tiles worked out by hand."""
import numpy as np

from neurosim.reference import engines

from handcases import arch, network, part


def bits(n, ones):
    a = np.zeros(n, bool)
    a[list(ones)] = True
    return a


def test_spec_2_6_fp_example_is_14_cycles():
    """linear part, n_in 128, n_ch 64, 32 lanes, scan 64, depth 4, 16 neuron lanes,
    inputs {3, 70, 71}: fill 4 + window 0 (1 nonzero, 2 chunks) 2 + window 1 (2 nonzeros,
    4 chunks) 4 + LIF 64/16 = 4 -> 14."""
    cfg = arch()
    net = network([{"name": "fc", "type": "linear", "out": 64}], [128])
    p = part("fc", 0, 0, 0, 64)
    prog = engines.fp_program(cfg, net["fc"], p, 0, bits(128, {3, 70, 71}))
    assert len(prog.cycles) == 14
    assert prog.cycles[:4] == [None] * 4
    # k_fw = 32 lanes * 16 bits / 256-bit words = 2 words per chunk, 16 weight banks:
    # input 3, chunk j: word (3*2 + j)*2 -> banks 12,13 then 14,15.
    assert prog.cycles[4] == (("weights", 12), ("weights", 13))
    assert prog.cycles[5] == (("weights", 14), ("weights", 15))
    # input 70: word (70*2 + 0)*2 = 280 -> bank 280 mod 16 = 8.
    assert prog.cycles[6] == (("weights", 8), ("weights", 9))
    # LIF: k_s = 16*16/256 = 1 word per cycle, 8 state banks, words 0..3.
    assert prog.cycles[10:] == [(("state", m),) for m in range(4)]
    c = prog.counters
    assert c[("core0.fp", "scan_windows")] == 2
    assert c[("core0.fp", "add_ops")] == 3 * 64
    assert c[("core0.sram.weights", "read_words")] == 6 * 2
    assert c[("core0.fp", "neuron_updates")] == 64
    assert c[("core0.sram.state", "read_words")] == 4
    assert c[("core0.sram.state", "write_words")] == 4
    assert c[("core0.fp", "tiles")] == 1


def test_fp_conv_valid_offsets_by_hand():
    """Input 1x3x3, 2 output channels, K=3, P=1, s=1: the centre input reaches all 9 offsets,
    a corner 4. Stride 2 on 1x4x4: input (1,1) reaches (ky,kx) in {0,2}^2, (0,0) only (1,1)."""
    cfg = arch("core.fp.pipeline_depth=0")
    net = network([{"name": "c", "type": "conv2d", "out_channels": 2, "kernel": 3,
                    "padding": 1}], [1, 3, 3])
    p = part("c", 0, 0, 0, 2)
    prog = engines.fp_program(cfg, net["c"], p, 0, bits(9, {0, 4}))
    # one window: 4 + 9 chunks; LIF: 18 neurons / 16 lanes = 2 cycles
    assert len(prog.cycles) == 13 + 2
    # corner (0,0): valid (ky,kx) = (0,0),(0,1),(1,0),(1,1); word ((0*3+ky)*3+kx)*1*2
    assert [s[0][1] for s in prog.cycles[:4]] == [0, 2, 6, 8]
    net2 = network([{"name": "c", "type": "conv2d", "out_channels": 2, "kernel": 3,
                     "padding": 1, "stride": 2}], [1, 4, 4])
    assert engines.conv_out_offsets(net2["c"], 1, 1) == [(0, 0), (0, 2), (2, 0), (2, 2)]
    assert engines.conv_out_offsets(net2["c"], 0, 0) == [(1, 1)]
    prog2 = engines.fp_program(cfg, net2["c"], part("c", 0, 0, 0, 2), 0,
                               bits(16, {0, 5}))  # (0,0) and (1,1)
    assert len(prog2.cycles) == (1 + 4) + 1  # 8 output neurons: one LIF cycle


def two_linear(hidden=40, out=20, n_in=8):
    return network([{"name": "h", "type": "linear", "out": hidden},
                    {"name": "o", "type": "linear", "out": out}], [n_in], T=2)


def test_loss_bp_wg_upd_lengths_by_hand():
    cfg = arch()  # bp: 16 lanes, depth 6, scan 64; wg: 16 lanes, depth 4, scan 64
    net = two_linear()
    o = net["o"]
    p = part("o", 0, 0, 0, 20)
    # LOSS: 6 + T * ceil(20/16) = 6 + 2*2
    assert len(engines.loss_program(cfg, o, 0, 2).cycles) == 10
    # BP of the output layer: P = 1 pass of ceil(20/16) = 2 delta cycles; deltas {0, 5} in
    # one window, each ceil(40/16) = 3 chunks -> 6 + 2 + 6 = 14, delta phase ends after 8.
    prog = engines.bp_program(cfg, o, p, 0, 1, bits(20, {0, 5}), transposed=True)
    assert len(prog.cycles) == 14 and prog.delta_end_index == 8
    # transposed chunk j of delta 5: weights word (5*3 + j)*1 (k_bw = 16*16/256 = 1),
    # gradients word GS + j; weights slots come first.
    assert prog.cycles[8 + 3] == (("weights", 15), ("gradients", 0))
    assert prog.counters[("core0.bp", "mac_ops")] == 20 + 2 * 40
    # three partial gradients received: 3 passes of the delta
    assert engines.bp_program(cfg, o, p, 0, 3, bits(20, {}), True).delta_end_index == 6 + 6
    # WG: 4 + index ceil(40/64) = 1 + deltas {0, 5} x ceil(17 nonzero inputs / 16) = 2
    prog = engines.wg_program(cfg, o, p, 0, bits(40, range(17)), bits(20, {0, 5}))
    assert len(prog.cycles) == 4 + 1 + 4
    assert prog.counters[("core0.wg", "add_ops")] == 2 * 17
    assert prog.counters[("core0.wg", "scan_windows")] == 1 + 1
    # UPD: 4 + (R + M) * ceil(800 / 16)
    assert len(engines.upd_program(cfg, o, p, 0, 1, False).cycles) == 4 + 50
    assert len(engines.upd_program(cfg, o, p, 0, 2, True).cycles) == 4 + 150


def test_bp_wg_conv_by_hand():
    """Conv 2->3 channels, 3x3 map, K=3, P=1; part of channels [1, 3) (n_ch 2).
    Delta d = 1 is (oy, ox) = (0, 0), co_local 1: valid input positions 2x2 = 4."""
    cfg = arch("core.bp.pipeline_depth=0", "core.wg.pipeline_depth=0")
    net = network([{"name": "c1", "type": "conv2d", "out_channels": 2, "kernel": 1,
                    "padding": 0},
                   {"name": "c", "type": "conv2d", "out_channels": 3, "kernel": 3,
                    "padding": 1}], [2, 3, 3])
    c = net["c"]
    p = part("c", 1, 0, 1, 3, bases={"GS": 100})
    gu = bits(18, {1})
    prog = engines.bp_program(cfg, c, p, 0, 1, gu, transposed=True)
    # delta: 18 neurons / 16 lanes = 2 cycles; transposed: 4 positions x ceil(2/16) = 4
    assert len(prog.cycles) == 2 + 4
    # offsets (1,1),(1,2),(2,1),(2,2) -> inputs (0,0),(0,1),(1,0),(1,1); weights word
    # (1*3+ky)*3+kx = 13, 14, 16, 17 (16 banks), gradients word 100 + (y*3+x) (8 banks)
    assert [(s[0][1], s[1][1]) for s in prog.cycles[2:]] == [
        (13, 100 % 8), (14, 101 % 8), (16 % 16, 103 % 8), (17 % 16, 104 % 8)]
    # WG: input channels nonzero at (0,0): both; (1,1): one; others none -> chunks at the
    # 4 valid offsets: 1 + 0 + 0 + 1, plus index ceil(18/64) = 1
    in_mask = bits(18, {0, 1, 9})  # (0,0) c0, c1; (1,1) c1 (index (1*3+1)*2 + 1 = 9)
    prog = engines.wg_program(cfg, c, p, 0, in_mask, gu)
    assert len(prog.cycles) == 1 + 2
    assert prog.counters[("core0.wg", "add_ops")] == 2 + 1
