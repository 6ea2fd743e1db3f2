"""Fault switches for chaos runs: workers killed mid-invocation, AWS errors and latency at the edge, and the
payments sandbox's provider and webhook faults, all set while the local cloud runs (`/_localcloud/faults`)."""
