"""Entry point for the arq worker: `arq worker.WorkerSettings` or `alerts worker`."""

from alerts.config import Settings
from alerts.jobs import worker_class

WorkerSettings = worker_class(Settings())
