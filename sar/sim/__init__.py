"""Raw-data simulator: Sentinel-1 point-target echoes as Level-0 packets.

Modules: :mod:`~sar.sim.modes` (radar parameters per swath), :mod:`~sar.sim.scene`
(targets, target files, clutter), :mod:`~sar.sim.echo` (echo physics, numba),
:mod:`~sar.sim.timeline` (echo windows, bursts, burst IDs), :mod:`~sar.sim.acquisition`
(orbit placement, per-burst simulation, RawData output), :mod:`~sar.sim.truth` (JSON
truth) and :mod:`~sar.sim.datatake` (packets: :func:`~sar.sim.datatake.simulate_datatake`,
:func:`~sar.sim.datatake.write_simulation`).
"""
