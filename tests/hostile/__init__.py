"""Hostile input through every command, menu, button and modal: each gets a clear answer
or is stored and shown as inert text; no handler crashes; nobody is pinged."""
