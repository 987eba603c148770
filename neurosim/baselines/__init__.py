"""Baselines the chip is compared with (a GPU running the same SNN training)."""
