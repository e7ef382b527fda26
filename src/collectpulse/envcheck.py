"""Warnings for ``COLLECTPULSE_*`` variables that no setting reads (typos keep defaults)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping

from pydantic_settings import BaseSettings

from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings

ENV_PREFIX = "COLLECTPULSE_"


def known_variables(classes: Iterable[type[BaseSettings]]) -> frozenset[str]:
    """Every ``COLLECTPULSE_*`` variable the settings ``classes`` read."""
    return frozenset(
        f"{cls.model_config.get('env_prefix', '')}{name}".upper()
        for cls in classes
        for name in cls.model_fields
    )


def unknown_variables(environ: Mapping[str, str], known: frozenset[str]) -> list[str]:
    """One warning per ``COLLECTPULSE_*`` name in ``environ`` that no setting reads.

    pydantic-settings ignores such a name silently, so a typo would leave its
    default in force; the warning names the closest valid variable.
    """
    # compared without the shared prefix, which would make every name look close
    suffixes = {name.removeprefix(ENV_PREFIX): name for name in known}
    warnings = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in known:
            continue
        close = difflib.get_close_matches(name.removeprefix(ENV_PREFIX), suffixes, n=1)
        hint = (
            f"did you mean {suffixes[close[0]]}?" if close else "see src/collectpulse/settings.py"
        )
        warnings.append(f"{name} is not a collectpulse setting and is ignored; {hint}")
    return warnings


def environment_warnings() -> list[str]:
    """``unknown_variables`` of this process's environment, for every settings class."""
    return unknown_variables(os.environ, known_variables((Settings, LocalStackSettings)))
