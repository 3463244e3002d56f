"""What the runtime knows about models: catalog, capabilities, overrides, probe store, resolution, probe.

Layers, least important first: defaults < model id < vendor rules < catalog
(:mod:`~agent.models.catalog`) < user overrides (:mod:`~agent.models.overrides`) < probe results
(:mod:`~agent.models.probe_store`). :mod:`~agent.models.capabilities` merges whatever layers it
is given; :mod:`~agent.models.resolution` gathers them for one model at run start.
:mod:`~agent.models.probe` runs the checks whose verdicts (:mod:`~agent.models.judges`) become
the probe layer.
"""
