"""Durability under faults: Warden as a real process, killed and restarted while members
report and the outside APIs misbehave; ``python -m chaos.run`` (see ``chaos.run``)."""
