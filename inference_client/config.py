"""Configuration of the inference client, from code, a mapping or the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from inference_client.errors import ConfigurationError

BACKENDS = ("extractive", "openai")
ENV_PREFIX = "INFERENCE_"


@dataclass(frozen=True)
class InferenceConfig:
    """How to reach the inference backend and how patient to be with it."""

    backend: str = "extractive"
    base_url: str = ""
    model: str = ""
    api_key: str = field(default="", repr=False)
    timeout_s: float = 30.0
    connect_timeout_s: float = 5.0
    read_timeout_s: float | None = None
    max_concurrency: int = 64
    max_retries: int = 2
    backoff_base_s: float = 0.25
    backoff_max_s: float = 4.0
    breaker_failure_threshold: int = 5
    breaker_cooldown_s: float = 30.0
    fallback_to_extractive: bool = True
    max_tokens: int = 512
    temperature: float = 0.0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigurationError(
                f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}"
            )
        if self.backend == "openai" and not self.base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                "the openai backend needs an http(s) base_url (e.g. http://gpu:8000/v1), "
                f"not {self.base_url!r}"
            )
        if self.timeout_s <= 0 or self.connect_timeout_s <= 0:
            raise ConfigurationError("timeouts must be positive")
        if self.read_timeout_s is not None and self.read_timeout_s <= 0:
            raise ConfigurationError("read_timeout_s must be positive")
        if self.max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be at least 1")
        if self.max_retries < 0 or self.breaker_failure_threshold < 1:
            raise ConfigurationError("max_retries must be >= 0 and breaker threshold >= 1")
        if self.max_tokens < 1:
            raise ConfigurationError("max_tokens must be at least 1")

    @property
    def effective_read_timeout_s(self) -> float:
        """Return the longest wait for the next bytes; a whole completion by default."""
        return self.read_timeout_s if self.read_timeout_s is not None else self.timeout_s

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, prefix: str = "") -> InferenceConfig:
        """Build a config from a mapping such as Django settings values or os.environ.

        Keys are the field names upper-cased behind ``prefix`` (``INFERENCE_BASE_URL``);
        ``INFERENCE_MAX_CONCURRENCY`` also sets ``max_concurrency``. Missing, empty or None
        values keep the defaults; strings are converted to the field's type.
        """
        kwargs: dict[str, Any] = {}
        for item in fields(cls):
            for key in _keys_for(item.name, prefix):
                raw = values.get(key)
                if raw is None or raw == "":
                    continue
                kwargs[item.name] = _convert(item.name, raw, _field_kind(cls, item.name))
                break
        if "backend" not in kwargs and kwargs.get("base_url"):
            # A configured server means the operator wants it; mirror config/settings.py.
            kwargs["backend"] = "openai"
        return cls(**kwargs)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> InferenceConfig:
        """Build a config from ``INFERENCE_*`` environment variables."""
        return cls.from_mapping(os.environ if environ is None else environ, prefix=ENV_PREFIX)

    def with_overrides(self, **changes: Any) -> InferenceConfig:
        """Return a copy with some fields changed."""
        return replace(self, **changes)


_ALIASES = {"max_concurrency": ("MAX_CONCURRENCY",), "timeout_s": ("TIMEOUT_S", "TIMEOUT")}


def _keys_for(name: str, prefix: str) -> list[str]:
    names = [name.upper(), *_ALIASES.get(name, ())]
    keys = [prefix + n for n in dict.fromkeys(names)]
    if prefix:
        keys.append(name)
    return keys


def _field_kind(cls: type, name: str) -> str:
    default = {f.name: f for f in fields(cls)}[name].default
    if name == "read_timeout_s":
        return "float"
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    return "str"


def _convert(name: str, raw: Any, kind: str) -> Any:
    try:
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            lowered = str(raw).strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        return str(raw).strip()
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{name} must be a {kind}, not {raw!r}") from exc
