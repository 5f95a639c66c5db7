"""The asyncore-loop package: ``import asyncore`` and ``import asynchat``
give the modules; this package holds their native engine (``_engine``)."""

from . import _engine  # noqa: F401

__all__ = ["_engine"]
