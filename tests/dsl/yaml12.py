"""YAML as amtsweg's loaders read it: plain scalars typed by the YAML 1.2 core schema (PyYAML
reads YAML 1.1, where `on` and `yes` are booleans and 1_000 an integer), mapping keys as text.
Shared by the JSON Schema checks (tests/dsl/workflow_schema.py,
tests/kafka_unit/kafka_config_schema.py); needs PyYAML."""

import math
import re

import yaml


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML reads YAML 1.1; this reads plain scalars by the YAML 1.2 core schema."""


Yaml12Loader.yaml_implicit_resolvers = {}
_RESOLVERS = [
    ("tag:yaml.org,2002:null", r"^(?:null|Null|NULL|~|)$", "nN~"),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
     r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+.0123456789"),
]
for tag, pattern, first in _RESOLVERS:
    Yaml12Loader.add_implicit_resolver(tag, re.compile(pattern), list(first))
# The empty plain scalar is null too (PyYAML resolves it through the '' first character).
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])


def _int(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


def _float(loader, node):
    text = loader.construct_scalar(node).lower()
    if text.endswith("inf"):
        return -math.inf if text.startswith("-") else math.inf
    if text == ".nan":
        return math.nan
    return float(text)


def _bool(loader, node):
    return loader.construct_scalar(node).lower() == "true"


def _mapping(loader, node):
    # Keys are text, as in JSON (and in amtsweg's loaders): `null:` is the key "null".
    loader.flatten_mapping(node)
    out = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else \
            loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
    return out


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _int)
Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _float)
Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", _bool)
Yaml12Loader.add_constructor("tag:yaml.org,2002:map", _mapping)


def load(text):
    """The document, as YAML 1.2; a text that is not one YAML document raises yaml.YAMLError."""
    return yaml.load(text, Loader=Yaml12Loader)
