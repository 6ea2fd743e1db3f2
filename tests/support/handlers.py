"""Load a function's handler the way Lambda does: its own directory's app.py, the layer on sys.path."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from typing import Any

from tests.support.template import ROOT

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def load_handler(function_dir: str, *, fresh: bool = False) -> Handler:
    """functions/<function_dir>/app.py's lambda_handler. Each function gets its own module name."""
    name = f"functions.{function_dir}.app"
    if fresh or name not in sys.modules:
        path = ROOT / "functions" / function_dir / "app.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec
        assert spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].lambda_handler
