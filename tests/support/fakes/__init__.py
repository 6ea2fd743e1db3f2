"""In-memory fakes of the domain's ports, one module per area, for unit tests (never shipped in the layer).

Each fake is held to its real adapter by a contract test in tests/integration (`test_*_contract.py`) that runs
the same cases against both.
"""
