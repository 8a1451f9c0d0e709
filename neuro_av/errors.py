"""Errors a user can act on: the CLI prints their message (which names the file, field or value and
says what to do) without a traceback and exits with status 2."""


class NeuroAVError(Exception):
    """Base of neuro-av's user-facing errors."""
