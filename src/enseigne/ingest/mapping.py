"""Mapping profiles: how a source file's layout maps onto the canonical columns."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PROFILES_DIR = Path(__file__).parent / "profiles"
SOURCE_KEYS = {"encoding", "delimiter", "decimal", "date_format", "datetime_format", "sheet"}


class MappingError(ValueError):
    """A mapping profile that cannot be used."""


@dataclass(frozen=True)
class Mapping:
    """Source options (sniffed when absent), canonical -> header renames, and constants."""

    name: str = "generic"
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    date_format: str | None = None
    datetime_format: str | None = None
    sheet: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)


def shipped_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def load_mapping(name_or_path: str | Path | None) -> Mapping:
    """A profile from a TOML path, or by the name of a shipped profile."""
    if name_or_path is None:
        return Mapping()
    path = Path(name_or_path)
    if not path.exists():
        shipped = PROFILES_DIR / f"{path.stem}.toml"
        if path.suffix in ("", ".toml") and shipped.exists() and path.parent == Path("."):
            path = shipped
        else:
            raise MappingError(
                f"mapping profile {name_or_path} not found "
                f"(shipped profiles: {', '.join(shipped_profiles())})"
            )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: not a valid TOML mapping profile: {exc}") from exc
    return _mapping_from(path, data)


def _mapping_from(path: Path, data: dict) -> Mapping:
    unknown = set(data) - {"source", "columns", "constants"}
    if unknown:
        raise MappingError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}")
    source = data.get("source", {})
    bad = set(source) - SOURCE_KEYS
    if bad:
        raise MappingError(f"{path}: unknown [source] key(s) {', '.join(sorted(bad))}")
    for section in ("columns", "constants"):
        if not all(isinstance(v, str | int | float) for v in data.get(section, {}).values()):
            raise MappingError(f"{path}: [{section}] values must be strings")
    return Mapping(
        name=path.stem,
        columns={k: str(v) for k, v in data.get("columns", {}).items()},
        constants={k: str(v) for k, v in data.get("constants", {}).items()},
        **{k: str(v) for k, v in source.items()},
    )
