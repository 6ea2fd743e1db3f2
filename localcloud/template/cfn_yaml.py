"""CloudFormation YAML: short-form tags (!Ref, !Sub, !GetAtt a.b, ...) read as their long-form dicts.

The result is what aws-sam-translator and CloudFormation itself accept, so one loader serves the
local cloud, the tests (tables built from the template's own properties) and packaging.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class _CfnLoader(yaml.SafeLoader):
    pass


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_cfn_yaml(text: str) -> dict[str, Any]:
    document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict):
        raise ValueError("a CloudFormation template must be a mapping")
    return document


def load_template_file(path: Path) -> dict[str, Any]:
    return load_cfn_yaml(path.read_text())
