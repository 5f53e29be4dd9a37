"""Credentials, project, location and bucket for the files, batches and fine-tuning endpoints.

Why a separate table: these endpoints name no model group, so no ``model_list``
deployment can supply credentials. LiteLLM's proxy takes them from
``files_settings`` (uploads) and ``finetune_settings`` (tuning jobs): one entry per
``custom_llm_provider``, chosen by the provider the request names. Batches read the
files uploaded under ``files_settings`` and use that section too. Entries for
providers this proxy does not serve are accepted (existing LiteLLM configs load) and
unused; ``vertex_ai`` entries are checked key by key, like the rest of the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.proxy.source import Source

SECTIONS = ("files_settings", "finetune_settings")
SERVED_PROVIDERS = ("vertex_ai",)
DEFAULT_PROVIDER = "vertex_ai"

# Entry key -> engine keyword, for calls to the Vertex AI API (batch and tuning jobs).
VERTEX_KEYS = {
    "vertex_project": "vertex_project",
    "vertex_ai_project": "vertex_project",
    "vertex_location": "vertex_location",
    "vertex_ai_location": "vertex_location",
    "vertex_credentials": "vertex_credentials",
    "api_base": "api_base",
}
# Entry key -> engine keyword, for uploads to Cloud Storage. LiteLLM's names: gcs_bucket_name and
# gcs_path_service_account (its GCS_BUCKET_NAME / GCS_PATH_SERVICE_ACCOUNT variables); storage_api_base
# and gcs_folder are the engine's create_file parameters (specs/files.yaml).
STORAGE_KEYS = {
    "gcs_bucket_name": "gcs_bucket_name",
    "gcs_folder": "gcs_folder",
    "storage_api_base": "storage_api_base",
    "gcs_path_service_account": "vertex_credentials",
}
CREDENTIAL_KEYS = ("vertex_credentials", "gcs_path_service_account")
KNOWN_KEYS = frozenset({"custom_llm_provider", *VERTEX_KEYS, *STORAGE_KEYS})
# What only the config may decide: a client sending one of these gets a 400.
SETTINGS_ONLY = frozenset({*VERTEX_KEYS, *STORAGE_KEYS, *VERTEX_KEYS.values(), *STORAGE_KEYS.values()})


@dataclass(frozen=True)
class ProviderSettings:
    """Engine keyword arguments of one entry, per service a call reaches."""

    vertex: dict[str, Any] = field(default_factory=dict)
    storage: dict[str, Any] = field(default_factory=dict)

    def for_target(self, target: str) -> dict[str, Any]:
        return self.vertex if target == "vertex" else self.storage


NONE = ProviderSettings()

# section -> provider -> settings
Providers = dict[str, dict[str, ProviderSettings]]


def provider_settings(source: Source) -> Providers:
    """The ``vertex_ai`` entry of each section, checked; problems go to ``source.problems``."""
    from engine.proxy.config import credentials_ok

    table: Providers = {}
    for section in SECTIONS:
        chosen: dict[str, ProviderSettings] = {}
        for index, entry in enumerate(source.data.get(section) or []):
            provider = entry.get("custom_llm_provider")
            if provider not in SERVED_PROVIDERS:
                continue
            where = (section, index)
            if provider in chosen:
                source.problem(
                    (*where, "custom_llm_provider"), f"a second entry for {provider!r} (one per provider)"
                )
                continue
            for key in sorted(set(entry) - KNOWN_KEYS):
                source.problem(
                    (*where, key),
                    f"unknown key for a {provider} entry; use one of {', '.join(sorted(KNOWN_KEYS))}",
                )
            if not all(credentials_ok(source, entry[k], (*where, k)) for k in CREDENTIAL_KEYS if k in entry):
                continue
            chosen[provider] = _settings(entry)
        table[section] = chosen
    return table


def _settings(entry: dict[str, Any]) -> ProviderSettings:
    vertex = {engine_key: entry[key] for key, engine_key in VERTEX_KEYS.items() if key in entry}
    storage = {engine_key: entry[key] for key, engine_key in STORAGE_KEYS.items() if key in entry}
    if "vertex_credentials" not in storage and "vertex_credentials" in entry:
        storage["vertex_credentials"] = entry["vertex_credentials"]  # one service account for both
    return ProviderSettings(vertex, storage)
