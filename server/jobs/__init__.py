"""Durable jobs: the :class:`JobStore` protocol, its records and the SQLite backend."""

from .base import JobStore
from .model import (
    ACTIVE,
    CANCELLED,
    COMPLETED,
    FAILED,
    KIND_CAPCUT,
    KIND_NATIVE,
    QUEUED,
    RUNNING,
    STATES,
    TERMINAL,
    Job,
    NewJob,
    QueueFull,
    RenderSpec,
    SubmitResult,
)
from .sqlite import SqliteJobStore

__all__ = [
    "JobStore",
    "SqliteJobStore",
    "Job",
    "NewJob",
    "RenderSpec",
    "SubmitResult",
    "QueueFull",
    "STATES",
    "ACTIVE",
    "TERMINAL",
    "QUEUED",
    "RUNNING",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "KIND_CAPCUT",
    "KIND_NATIVE",
]
