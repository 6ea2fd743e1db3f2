"""Build deployable artifacts into .aws-sam/build without Docker.

Where a python3.13 interpreter exists, `sam build` does the work (the layer's BuildMethod is python3.13).
Otherwise the layer is assembled here: its pinned requirements installed as wheels for Lambda's platform
(`--platform manylinux2014_aarch64 --python-version 3.13 --only-binary=:all:`) next to the commerce
package, functions copied as they are, and a template written that points at the built directories.
`sam deploy --template-file .aws-sam/build/template.yaml` then uploads them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from localcloud.template.cfn_yaml import load_template_file

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".aws-sam" / "build"


def _run(*command: str) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def build_with_sam() -> None:
    _run(str(Path(sys.executable).with_name("sam")), "build", "--template-file", "template.yaml", "--parallel")


def build_without_docker() -> None:
    shutil.rmtree(BUILD, ignore_errors=True)
    template = load_template_file(ROOT / "template.yaml")
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            target = BUILD / logical_id
            site = target / "python"
            _run(
                sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", "3.13",
                "--only-binary=:all:", "--target", str(site),
                "-r", str(ROOT / props["ContentUri"] / "requirements.txt"),
            )  # fmt: skip
            shutil.copytree(ROOT / props["ContentUri"] / "commerce", site / "commerce",
                            ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
            props["ContentUri"] = logical_id
            resource.pop("Metadata", None)
        elif resource["Type"] == "AWS::Serverless::Function" and "CodeUri" in props:
            shutil.copytree(ROOT / props["CodeUri"], BUILD / logical_id, ignore=shutil.ignore_patterns("__pycache__"))
            props["CodeUri"] = logical_id
        elif resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            shutil.copy(ROOT / props["DefinitionUri"], BUILD / Path(props["DefinitionUri"]).name)
            props["DefinitionUri"] = Path(props["DefinitionUri"]).name
    # Long-form intrinsics ({"Ref": ...}) are valid CloudFormation YAML, so a plain dump is deployable.
    (BUILD / "template.yaml").write_text(yaml.safe_dump(template, sort_keys=False))
    print(f"built {BUILD / 'template.yaml'}")


def _has_python313() -> bool:
    # pyenv installs a python3.13 shim even where no 3.13 is installed, so ask the interpreter itself.
    try:
        return subprocess.run(["python3.13", "--version"], capture_output=True, check=False).returncode == 0
    except FileNotFoundError:
        return False


def main() -> None:
    if _has_python313():
        build_with_sam()
    else:
        build_without_docker()


if __name__ == "__main__":
    main()
