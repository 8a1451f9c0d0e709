"""Losses, the two-stage protocol, GZSL metrics, checkpoints."""
