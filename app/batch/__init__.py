"""The batch engine: universe and sessions, batched chunk reads, the document jobs, grouped writes,
settling (counts, history, progress, breaker), retries and interrupts. Knows jobs only through jobs.py."""
