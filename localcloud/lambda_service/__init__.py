"""Lambda: the runtime that runs the stack's functions in worker processes (`runtime`), the forked workers and
their zygote (`worker`), and Lambda's Invoke API on the edge (`invoke_api`).

This package module imports nothing: the zygote is started as `python -m localcloud.lambda_service.worker`
and must stay light.
"""
