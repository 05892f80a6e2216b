"""Regenerate ``studio-openapi-structure.json`` from the public reference.

The reference carries prose (descriptions, examples, ordering hints) that changes without changing
the wire. The contract tests need only the structure, and must run without ``../shared``, so the
reduction is committed and this script makes it reproducible::

    .venv/bin/python tests/contract/reduce_reference.py
"""

import json
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).resolve().parents[3] / "shared/reference/studio-openapi-v1.5.0.json"
TARGET = Path(__file__).with_name("studio-openapi-structure.json")

# Keywords that only document; none of them changes what goes over the wire.
PROSE = frozenset(
    {
        "description",
        "summary",
        "example",
        "examples",
        "x-enumDescriptions",
        "x-redoclyOrder",
        "tags",
        "servers",
    }
)
# Keywords whose keys are names (paths, properties, status codes, media types), not keywords: a
# property called "description" is structure and must stay.
NAME_MAPS = frozenset({"paths", "schemas", "properties", "responses", "content", "securitySchemes"})


def strip_prose(node: Any, *, names: bool = False) -> Any:
    """``node`` without prose keywords, at any depth; ``names`` marks a map of named entries."""
    if isinstance(node, list):
        return [strip_prose(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {name: strip_prose(value) for name, value in node.items()}
    return {
        key: strip_prose(value, names=key in NAME_MAPS)
        for key, value in node.items()
        if key not in PROSE
    }


def reduce_reference(document: dict[str, Any]) -> dict[str, Any]:
    """The reference's structure: paths, schemas and security, with a minimal ``info``."""
    components = document["components"]
    return {
        "openapi": document["openapi"],
        "info": {"title": document["info"]["title"], "version": document["info"]["version"]},
        "security": strip_prose(document.get("security", [])),
        "paths": strip_prose(document["paths"], names=True),
        "components": {
            "schemas": strip_prose(components["schemas"], names=True),
            "securitySchemes": strip_prose(components["securitySchemes"], names=True),
        },
    }


def render(document: dict[str, Any]) -> str:
    """The committed form: the reference's key order, two-space indent, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    reduced = reduce_reference(json.loads(SOURCE.read_text(encoding="utf-8")))
    TARGET.write_text(render(reduced), encoding="utf-8")
    print(f"wrote {TARGET} from {SOURCE}")


if __name__ == "__main__":
    main()
