"""Configuration from code, mappings (Django settings) and the environment."""

from __future__ import annotations

import pytest

from inference_client import ConfigurationError, InferenceClient, InferenceConfig, shared_client


def test_defaults_are_the_embedded_backend():
    config = InferenceConfig.from_env({})

    assert (config.backend, config.base_url, config.timeout_s, config.max_concurrency) == (
        "extractive",
        "",
        30.0,
        64,
    )


def test_from_env_reads_the_inference_variables():
    config = InferenceConfig.from_env(
        {
            "INFERENCE_BACKEND": "openai",
            "INFERENCE_BASE_URL": "http://gpu-1:8000/v1",
            "INFERENCE_MODEL": "Qwen/Qwen2.5-7B-Instruct",
            "INFERENCE_API_KEY": "secret-key",
            "INFERENCE_TIMEOUT_S": "12.5",
            "INFERENCE_MAX_CONCURRENCY": "16",
            "UNRELATED": "x",
        }
    )

    assert config == InferenceConfig(
        backend="openai",
        base_url="http://gpu-1:8000/v1",
        model="Qwen/Qwen2.5-7B-Instruct",
        api_key="secret-key",
        timeout_s=12.5,
        max_concurrency=16,
    )
    assert "secret-key" not in repr(config)


def test_a_base_url_alone_selects_the_openai_backend():
    config = InferenceConfig.from_env({"INFERENCE_BASE_URL": "http://gpu-1:8000/v1"})

    assert config.backend == "openai"


def test_from_mapping_takes_typed_settings_values():
    settings = {
        "INFERENCE_BACKEND": "extractive",
        "INFERENCE_BASE_URL": "",
        "INFERENCE_MODEL": "",
        "INFERENCE_API_KEY": "",
        "INFERENCE_TIMEOUT_S": 30.0,
        "INFERENCE_MAX_CONCURRENCY": 64,
        "INFERENCE_FALLBACK_TO_EXTRACTIVE": "false",
    }

    config = InferenceConfig.from_mapping(settings, prefix="INFERENCE_")

    assert (config.backend, config.timeout_s, config.fallback_to_extractive) == (
        "extractive",
        30.0,
        False,
    )


def test_bad_values_raise_configuration_errors():
    with pytest.raises(ConfigurationError, match="timeout_s must be a float, not 'soon'"):
        InferenceConfig.from_env({"INFERENCE_TIMEOUT_S": "soon"})
    with pytest.raises(ConfigurationError, match="backend must be one of extractive, openai"):
        InferenceConfig(backend="gpt")
    with pytest.raises(ConfigurationError, match=r"the openai backend needs an http\(s\) base_url"):
        InferenceConfig(backend="openai")
    with pytest.raises(ConfigurationError, match="max_concurrency must be at least 1"):
        InferenceConfig(max_concurrency=0)


def test_shared_client_is_one_per_process_and_config():
    config = InferenceConfig(max_tokens=100)

    assert shared_client(config) is shared_client(InferenceConfig(max_tokens=100))
    assert shared_client(config) is not shared_client(InferenceConfig(max_tokens=101))
    assert isinstance(shared_client(config), InferenceClient)
