"""The local cloud's start-up time and memory.

1. Seconds from `make run` (already installed) to an API that answers `GET /health` with 200.
2. Memory of the whole local cloud (the main process and every descendant: Lambda workers and their
   zygote, PostgreSQL) when idle after start, and after 1,000 storefront requests spread over the
   functions. Two figures: RSS summed over processes (counts pages shared between forked workers once
   per process, so it overstates) and PSS (each shared page split between its sharers: the honest total).

Targets: <= 10 s to a healthy API, <= 1 GiB resident.

    python -m bench.localcloud [--requests 1000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024


def _tree_memory(pid: int) -> tuple[float, float, int]:
    """(RSS MiB, PSS MiB, processes) of a process and all its descendants."""
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
    rss = pss = 0
    for process in processes:
        try:
            info = process.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return rss / MIB, pss / MIB, len(processes)


def _wait_healthy(state_dir: Path, process: subprocess.Popen[bytes], timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    outputs = state_dir / "outputs.json"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the local cloud exited during start-up")
        if outputs.exists():
            api = json.loads(outputs.read_text())["ApiUrl"]
            try:
                if requests.get(f"{api}/health", timeout=5).status_code == 200:
                    return dict(json.loads(outputs.read_text()))
            except requests.RequestException:
                pass
        time.sleep(0.02)
    raise RuntimeError("the local cloud did not become healthy in time")


def _storefront_traffic(api: str, count: int) -> float:
    """`count` requests over 4 connections, touching the storefront functions; returns requests/s."""
    products = requests.get(f"{api}/products?limit=20", timeout=10).json()["items"]
    skus = [variant["sku"] for product in products for variant in product["variants"]]

    def one_visitor(visitor: int) -> int:
        http = requests.Session()
        done = 0
        token = http.post(f"{api}/sessions", timeout=30).json()["token"]
        headers = {"X-Session-Token": token}
        steps = [
            lambda: http.get(f"{api}/health", timeout=30),
            lambda: http.get(f"{api}/products?limit=5", timeout=30),
            lambda: http.get(f"{api}/products?q=e", timeout=30),
            lambda: http.post(f"{api}/cart/lines", json={"sku": skus[visitor % len(skus)], "quantity": 1},
                              headers=headers, timeout=30),
            lambda: http.get(f"{api}/cart", headers=headers, timeout=30),
            lambda: http.put(f"{api}/cart/lines/{skus[visitor % len(skus)]}", json={"quantity": 0},
                             headers=headers, timeout=30),
        ]  # fmt: skip
        while done < count // 4:
            steps[done % len(steps)]()
            done += 1
        return done + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        total = sum(pool.map(one_visitor, range(4)))
    return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()

    state_dir = Path(tempfile.mkdtemp(prefix="localcloud-bench-"))
    command = ["make", "--no-print-directory", "run", f"STATE_DIR={state_dir}", "ARGS=--port 0 --edge-port 0"]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        outputs = _wait_healthy(state_dir, process)
        to_healthy = time.perf_counter() - started
        time.sleep(2)  # let start-up work (seeding, first cold starts) settle
        idle_rss, idle_pss, idle_procs = _tree_memory(process.pid)
        rate = _storefront_traffic(outputs["ApiUrl"], args.requests)
        busy_rss, busy_pss, busy_procs = _tree_memory(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(state_dir, ignore_errors=True)

    print("local cloud: start-up and memory (targets: <= 10 s, <= 1024 MiB)")
    print(f"  make run -> healthy API          {to_healthy:6.1f} s        target <= 10 s")
    print(f"  idle:   PSS {idle_pss:7.0f} MiB  RSS sum {idle_rss:7.0f} MiB  ({idle_procs} processes)")
    print(f"  after {args.requests} requests ({rate:.0f} req/s over 4 connections):")
    print(f"          PSS {busy_pss:7.0f} MiB  RSS sum {busy_rss:7.0f} MiB  ({busy_procs} processes)")


if __name__ == "__main__":
    main()
