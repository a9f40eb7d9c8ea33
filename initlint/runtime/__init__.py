"""Runtime mode (needs torch): imported lazily, never from the static path."""
