"""`python -m devcloud`: the local cloud's CLI (`python -m localcloud`) with this repository's glue; `make run`.

python -m devcloud [--state-dir DIR] run [--reset] [--port N] [--edge-port N] [--no-seed]
python -m devcloud invoke FunctionLogicalId [--event events/x.json]
"""

from __future__ import annotations

import sys

from devcloud.extension import DevCloud
from localcloud.__main__ import main as localcloud_main


def main(argv: list[str] | None = None) -> int:
    return localcloud_main(argv, extension=DevCloud())


if __name__ == "__main__":
    sys.exit(main())
