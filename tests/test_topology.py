"""The mesh geometry every part of neurosim but the reference shares (spec 4.5, 5.2, 6.1)."""
import pytest

from neurosim.arch import load_arch
from neurosim.memsys import noc
from neurosim.memsys.topology import (PORT_CORE, PORT_DRAM, PORT_E, PORT_N, PORT_S, PORT_W,
                                      Mesh)


def test_coordinates_hops_and_route_hand_worked():
    m = Mesh(5, 4)
    assert m.nodes == 20
    assert m.xy(13) == (3, 2) and m.node(3, 2) == 13   # 13 = 2 * 5 + 3
    # node 1 = (1, 0) to node 13 = (3, 2): x first (east twice), then y (south twice)
    assert m.hops(1, 13) == 2 + 2
    assert m.route(1, 13) == [(1, PORT_E), (2, PORT_E), (3, PORT_S), (8, PORT_S), (13, -1)]
    # back: west twice, then north twice
    assert m.route(13, 1) == [(13, PORT_W), (12, PORT_W), (11, PORT_N), (6, PORT_N), (1, -1)]
    assert m.route(7, 7) == [(7, -1)]


def test_links_of_a_mesh():
    m = Mesh(5, 4)
    links = m.links()
    # 2 directions * (rows * (cols - 1) horizontal + cols * (rows - 1) vertical) links
    assert len(links) == 2 * (4 * 4 + 5 * 3) == 62
    assert links[:2] == [(0, PORT_E, 1), (0, PORT_S, 5)]   # node 0 has no north or west link
    assert m.neighbour(0, PORT_N) == -1 and m.neighbour(19, PORT_E) == -1


def test_dram_controllers_of_an_arch_config():
    cfg = load_arch("paper-20core", ["chip.dram_nodes=[[0, 0], [4, 3]]", "dram.channels=4"])
    m = Mesh.of(cfg)
    assert m.dram_nodes == (0, 19)                      # (4, 3) = 3 * 5 + 4
    assert [m.dram_controller(ch) for ch in range(4)] == [0, 19, 0, 19]   # ch mod 2
    assert m.nearest_dram_hops(7) == 3                  # (2, 1): 3 hops to 0, 4 to 19
    assert m.nearest_dram_hops(18) == 1


def test_multicast_chain_order():
    m = Mesh(5, 4)
    # from node 0: node 1 (1 hop), then 6 (1 hop from 1), then 19 (7 hops from 6);
    # the source itself is no leg of the chain
    dsts = [(19, PORT_CORE), (6, PORT_CORE), (0, PORT_CORE), (1, PORT_CORE)]
    assert m.multicast_chain((0, PORT_CORE), dsts) == [(1, 0), (6, 0), (19, 0)]
    # a tie (nodes 1 and 5 are both 1 hop from 0) goes to the lower (node, port)
    assert m.multicast_chain((0, 0), [(5, 0), (1, 0)]) == [(1, 0), (5, 0)]
    with pytest.raises(ValueError):
        m.multicast_chain((0, 0), [(1, 0), (1, 0)])


@pytest.mark.parametrize("cols, rows", [(5, 4), (4, 4), (1, 3), (3, 1)])
def test_the_noc_kernel_routes_as_the_topology(cols, rows):
    """The NoC kernel's route table takes the same ports as Mesh.route, and the
    destination endpoint's own port (0 or 5) at its router."""
    m = Mesh(cols, rows)
    cfg = load_arch("paper-20core", [f"chip.mesh.cols={cols}", f"chip.mesh.rows={rows}",
                                     f"chip.cores={cols * rows}"])
    table = noc.make_noc_state(cfg).route
    assert table.shape == (m.nodes, 2 * m.nodes)
    for a in range(m.nodes):
        for b in range(m.nodes):
            for port in (PORT_CORE, PORT_DRAM):
                ep = noc.endpoint(b, port)
                for r, o in m.route(a, b):
                    assert table[r, ep] == (o if o >= 0 else port)
