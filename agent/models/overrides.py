"""User overrides of model capabilities: ``models.yaml`` in the config directories.

The file maps a model id, or a glob over ids (``qwen/*``), to capability facts::

    models:
      "qwen/qwen-2.5-7b-instruct":
        native_tools: false
      "mistralai/*":
        parallel_tool_calls: false

Every ``models.yaml`` (or ``models.yml``) found in the config lookup order is used; a more
important directory wins. Inside one file globs apply in file order, then the exact id, so the
most specific entry wins. Mistakes are one-line ConfigErrors naming file and field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from agent.config.files import read_document, validate
from agent.config.paths import config_dirs
from agent.errors import ConfigError
from agent.models.capabilities import CapabilityFacts, CapabilityLayer

__all__ = ["MODELS_FILE_NAMES", "ModelOverrides", "OverrideRule", "find_overrides", "load_overrides"]

MODELS_FILE_NAMES = ("models.yaml", "models.yml")
_GLOB_CHARS = frozenset("*?[")


class OverrideRule(NamedTuple):
    """One entry of a ``models.yaml``: where it is, which ids it matches, what it says."""

    source: str
    pattern: str
    facts: CapabilityFacts

    @property
    def is_glob(self) -> bool:
        """Whether ``pattern`` is a glob rather than one exact model id."""
        return not _GLOB_CHARS.isdisjoint(self.pattern)

    def matches(self, model_id: str) -> bool:
        """Whether this entry applies to ``model_id`` (globs are case-sensitive, ``*`` spans ``/``)."""
        return fnmatchcase(model_id, self.pattern) if self.is_glob else model_id == self.pattern


@dataclass(frozen=True, slots=True)
class ModelOverrides:
    """The override entries of every file, least important first."""

    rules: tuple[OverrideRule, ...] = ()

    def layers_for(self, model_id: str) -> list[CapabilityLayer]:
        """The layers for ``model_id``, in the order they apply."""
        return [
            CapabilityLayer(f"{rule.source} ({rule.pattern})", rule.facts)
            for rule in self.rules
            if rule.matches(model_id)
        ]


_Entries = dict[str, CapabilityFacts]


class _ModelsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: _Entries | None = None


def load_overrides(files: Sequence[Path]) -> ModelOverrides:
    """Read ``files`` (most important first, like :func:`agent.config.paths.config_dirs`).

    Raises:
        ConfigError: a file cannot be read or parsed, or an entry is not a capability mapping.
    """
    rules: list[OverrideRule] = []
    for path in reversed(files):
        source = str(path)
        if _only_comments(path):
            continue
        parsed = validate(_ModelsFile, read_document(path, source), source=source)
        if any(not pattern.strip() for pattern in parsed.models or {}):
            raise ConfigError(
                "expected model ids or globs as keys, got an empty key", source=source, field="models"
            )
        entries = [OverrideRule(source, pattern, facts) for pattern, facts in (parsed.models or {}).items()]
        rules.extend(sorted(entries, key=lambda rule: not rule.is_glob))
    return ModelOverrides(tuple(rules))


def find_overrides(cwd: Path, env: Mapping[str, str], explicit_dir: Path | None = None) -> ModelOverrides:
    """The overrides of every config directory in the lookup order (see :mod:`agent.config.paths`)."""
    files: list[Path] = []
    for directory in config_dirs(cwd, env, explicit_dir):
        found = next((directory / name for name in MODELS_FILE_NAMES if (directory / name).is_file()), None)
        if found is not None:
            files.append(found)
    return load_overrides(files)


def _only_comments(path: Path) -> bool:
    """A file of blank lines and comments means "nothing to override" rather than an error."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return False  # read_document reports it
    return all(not line.strip() or line.lstrip().startswith("#") for line in lines)
