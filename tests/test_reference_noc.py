"""Reference model, NoC (spec 4.4 and 6.4): packetization and the iSLIP allocator by hand.
The timing cases of section 6 run on both models in tests/test_noc.py."""
from neurosim.reference.noc import islip, packet_flits


def test_packetization():
    assert packet_flits(0, 128) == [1]               # a read request: one head flit
    assert packet_flits(512, 128) == [5]             # a 64-byte burst
    assert packet_flits(16 * 128, 128) == [17]
    assert packet_flits(16 * 128 + 1, 128) == [17, 2]
    assert packet_flits(512, 8) == [17, 17, 17, 17]


def test_islip_one_iteration_by_hand():
    # requesters 0, 1, 2; resources 0, 1. 0 wants {0, 1}, 1 wants {0}, 2 wants {1}.
    # Grant (pointers 0): resource 0 -> requester 0, resource 1 -> requester 0.
    # Accept: requester 0 takes resource 0 (accept pointer 0). One iteration: 1 and 2 stay
    # unmatched although resource 1 could serve 2. Pointers: grant[0] = 1, accept[0] = 1.
    g, a = [0, 0], [0, 0, 0]
    reqs = {(0, 0), (0, 1), (1, 0), (2, 1)}
    assert islip(reqs, 3, 2, g, a, 1) == {0: 0}
    assert (g, a) == ([1, 0], [1, 0, 0])
    # next cycle, same requests: resource 0 grants 1 (pointer 1), resource 1 grants 0;
    # requester 0 accepts 1 (its pointer is 1), requester 1 accepts 0: a full match
    assert islip(reqs, 3, 2, g, a, 1) == {0: 1, 1: 0}


def test_islip_second_iteration_fills_the_match():
    # the first case with two iterations: in the second, resource 1 (unmatched) grants
    # requester 2, which accepts; the pointers move only for the first iteration's accept
    g, a = [0, 0], [0, 0, 0]
    assert islip({(0, 0), (0, 1), (1, 0), (2, 1)}, 3, 2, g, a, 2) == {0: 0, 2: 1}
    assert (g, a) == ([1, 0], [1, 0, 0])
