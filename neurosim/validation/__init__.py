"""The differential harness: random small cases, both timing models, exact comparison.

- :mod:`.strategies`: random networks, configs, placements and traces (seeded or hypothesis);
- :mod:`.compare`: field-by-field comparison of two :class:`~neurosim.timing.TimingResult`
  and the first diverging event;
- :mod:`.checks`: closed-form checks of one model's records against the spec;
- :mod:`.report`: which features a case exercised, and the summary ``neurosim validate``
  prints;
- :mod:`.harness`: loading the models by name and running cases.
"""
