"""Benchmarks: Warden measured against floors taken in the same run on the same machine.

Each benchmark is a script (``python -m bench.NAME --help``) that prints its figures,
each beside its floor as a ratio, and the command that reproduces them. The system
under test always runs in its own process (``bench.child``), the stand-ins and the
simulated members in this one, so the two share the machine the way Warden and
Discord would not, but the same way for Warden and for every floor.
Latest figures: ``bench/RESULTS.md``.
"""
