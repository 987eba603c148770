"""Side-by-side comparison of the cycle-level NoC with BookSim2 (docs/noc.md).

    BOOKSIM=/path/to/booksim python benchmarks/compare_booksim.py [--full] [--packets N]

For each mesh (4x4, 4x5, 8x8 with --full; 4x4 by default) x VCs (1, 2) x packet size (1, 4
flits), BookSim2's input-queued router with its default pipeline (routing, VC allocation,
switch allocation, switch traversal: 1 cycle each; iSLIP allocators; 4-flit VC buffers;
1-cycle channels), uniform random traffic (self-sends included), Bernoulli injection:
prints the zero-load latency per hop count (ours from the formula of spec 6.6, checked
against a single-packet run, BookSim's from runs at a very low load grouped by hop count is
not available in its output, so BookSim's column is its measured average at a near-zero
load against ours at the same load), the average packet latency at 20..80 % of BookSim's
saturation throughput, and the saturation throughput (accepted flits/node/cycle at an
offered load of 1 flit/node/cycle). Latency is BookSim's ``plat``: from packet creation to
the tail's arrival at the destination NI (ours: ``eject - time``).
BookSim's mesh is k x k; the 4x5 mesh uses BookSim's ``x``/``y`` keys of its ``cmesh``?
No: BookSim2's ``mesh`` is square, so 4x5 runs as ``anynet``-free ``mesh`` is skipped for
BookSim and only ours is printed unless BookSim accepts it.
"""
