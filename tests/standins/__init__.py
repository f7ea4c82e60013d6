"""Local stand-ins for the outside services Warden talks to (tests only)."""
