"""The toy world: a procedural, styled picture world and the small text-to-image model trained on it."""
