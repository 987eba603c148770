"""neurosim: a cycle-accurate simulator of a multi-core neuromorphic chip that trains
spiking neural networks on-chip by backpropagation through time."""
__version__ = "0.1.0"
