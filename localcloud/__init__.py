"""The Docker-free local cloud: template.yaml's app running on this machine (`python -m localcloud run`).

Start at `localcloud.cloud.LocalCloud`. This package module imports nothing: the Lambda zygote
(`localcloud.lambda_service.worker`) is started as a module of it and must stay light.
"""
