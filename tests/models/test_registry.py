"""Model specs -> backends, and where API keys come from."""

from __future__ import annotations

import sys
import types

import pytest

from mmrole.errors import ConfigError
from mmrole.models import Backend, load_backend, register_backend
from mmrole.models.openai_compat import OpenAICompatBackend
from mmrole.models.registry import split_openai_spec


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for name in ("OPENAI_API_KEY", "MMROLE_API_KEY", "OPENAI_BASE_URL", "MY_VLLM_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MMROLE_CONFIG", str(tmp_path / "config.toml"))  # no user config leaks in


def _auth(backend: OpenAICompatBackend) -> str | None:
    return backend._headers.get("Authorization") or backend._headers.get("api-key")


def test_split_openai_spec():
    assert split_openai_spec("gpt-4o") == ("gpt-4o", None)
    assert split_openai_spec("Qwen/Qwen2-VL@http://h:8000/v1") == ("Qwen/Qwen2-VL", "http://h:8000/v1")
    assert split_openai_spec("llama3.2-vision:11b@localhost:11434/v1") == (
        "llama3.2-vision:11b",
        "http://localhost:11434/v1",
    )


def test_openai_default_endpoint_needs_a_key(monkeypatch):
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        load_backend("openai:gpt-4o")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    backend = load_backend("openai:gpt-4o", timeout=5)
    assert isinstance(backend, OpenAICompatBackend) and backend.spec == "openai:gpt-4o"
    assert _auth(backend) == "Bearer sk-openai" and backend.timeout == 5


def test_openai_key_is_never_sent_to_another_server(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    backend = load_backend("openai:qwen@http://vllm.local:8000/v1")
    assert backend.spec == "openai:qwen@http://vllm.local:8000/v1" and _auth(backend) is None
    monkeypatch.setenv("MMROLE_API_KEY", "sk-mmrole")
    assert _auth(load_backend("openai:qwen@http://vllm.local:8000/v1")) == "Bearer sk-mmrole"


def test_key_order_option_then_env_option_then_config_endpoint(monkeypatch, tmp_path):
    url = "http://vllm.local:8000/v1"
    (tmp_path / "config.toml").write_text(
        f'api_key = "sk-config-default"\n[endpoints."{url}"]\napi_key_env = "MY_VLLM_KEY"\n'
    )
    monkeypatch.setenv("MMROLE_API_KEY", "sk-mmrole")
    monkeypatch.setenv("MY_VLLM_KEY", "sk-endpoint")
    assert _auth(load_backend(f"openai:q@{url}")) == "Bearer sk-endpoint"
    assert _auth(load_backend(f"openai:q@{url}", api_key_env="MMROLE_API_KEY")) == "Bearer sk-mmrole"
    assert _auth(load_backend(f"openai:q@{url}", api_key="sk-explicit")) == "Bearer sk-explicit"
    assert (
        _auth(load_backend("openai:gpt-4o")) == "Bearer sk-mmrole"
    )  # MMROLE_API_KEY before the file default
    monkeypatch.delenv("MMROLE_API_KEY")
    assert _auth(load_backend("openai:gpt-4o")) == "Bearer sk-config-default"
    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE"):
        load_backend(f"openai:q@{url}", api_key_env="NOT_SET_ANYWHERE")


def test_azure_hosts_get_the_api_key_header():
    backend = load_backend("openai:gpt-4o@https://res.openai.azure.com/openai/v1", api_key="az-key")
    assert backend._headers == {"api-key": "az-key"}


def test_openai_base_url_env_changes_the_default(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://proxy.local/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    backend = load_backend("openai:gpt-4o")
    assert backend.spec == "openai:gpt-4o@http://proxy.local/v1" and _auth(backend) == "Bearer sk-openai"


def test_bad_config_file_is_a_config_error(tmp_path):
    (tmp_path / "config.toml").write_text("api_key = ")
    with pytest.raises(ConfigError, match="config.toml"):
        load_backend("openai:q@http://h/v1")


def test_unknown_and_malformed_specs():
    with pytest.raises(ConfigError, match=r"unknown model spec 'gpt-4o'.*openai:"):
        load_backend("gpt-4o")
    for spec in ("openai:", "openai:@http://h/v1", "hf:", "replay:", "demo:extra"):
        with pytest.raises(ConfigError):
            load_backend(spec)
    with pytest.raises(
        ConfigError, match=r"openai backend: unknown option 'not_an_option'; valid options: api_key, "
    ):
        load_backend("openai:q@http://h/v1", not_an_option=1)


def test_instances_pass_through():
    backend = OpenAICompatBackend("q", "http://h/v1")
    assert load_backend(backend) is backend
    with pytest.raises(ConfigError, match="backend instance"):
        load_backend(backend, timeout=3)


def test_hf_and_demo_factories_import_lazily(monkeypatch):
    made = {}

    class FakeHF(Backend):
        def __init__(self, path, **options):
            made["hf"] = (path, options)

        async def generate(self, messages, params):
            raise NotImplementedError

    fake_hf = types.ModuleType("mmrole.models.hf")
    fake_hf.HFBackend = FakeHF
    fake_demo = types.ModuleType("mmrole.models.demo")
    fake_demo.load_demo_backend = lambda **options: made.setdefault("demo", options) and FakeHF("demo")
    monkeypatch.setitem(sys.modules, "mmrole.models.hf", fake_hf)
    monkeypatch.setitem(sys.modules, "mmrole.models.demo", fake_demo)
    assert isinstance(load_backend("hf:/models/llava", device="cpu"), FakeHF)
    assert made["hf"] == ("/models/llava", {"device": "cpu"})
    load_backend("demo", max_batch_size="2")  # text values take the option's type
    assert made["demo"] == {"max_batch_size": 2}


def test_register_a_custom_prefix():
    class Echo(Backend):
        spec = "echo"

        async def generate(self, messages, params):
            raise NotImplementedError

    register_backend("echo-test")(lambda argument, options: Echo())
    try:
        assert isinstance(load_backend("echo-test:anything"), Echo)
    finally:
        from mmrole.models import registry

        registry._FACTORIES.pop("echo-test")


# -- keys written inside URLs (issue 8, item 11) ---------------------------------------------------
def test_the_model_name_ends_at_the_at_sign_that_starts_the_url():
    assert split_openai_spec("m@http://user:sk-1@h:8000/v1") == ("m", "http://user:sk-1@h:8000/v1")
    assert split_openai_spec("claude-3@20240229@https://sk-2@h/v1") == (
        "claude-3@20240229",
        "https://sk-2@h/v1",
    )
    with pytest.raises(ConfigError, match="with its scheme") as caught:
        split_openai_spec("m@user:sk-3@h:8000/v1")  # no scheme: which '@' starts the URL is ambiguous
    assert "sk-3" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "key", "shown"),
    [
        ("http://user:sk-1@h:8000/v1", "sk-1", "http://***@h:8000/v1"),
        ("http://sk-2@h:8000/v1", "sk-2", "http://***@h:8000/v1"),
        ("http://h:8000/v1?api_key=sk-3", "sk-3", "http://h:8000/v1?api_key=***"),
        ("http://h:8000/v1?key=sk-4", "sk-4", "http://h:8000/v1?key=***"),
        ("http://h:8000/v1?token=sk-5", "sk-5", "http://h:8000/v1?token=***"),
        ("http://u:s%2Fk%40-6@h:8000/v1", "s/k@-6", "http://***@h:8000/v1"),
    ],
)
def test_a_key_in_the_url_is_the_bearer_key_and_shows_as_stars(url, key, shown):
    backend = load_backend(f"openai:m@{url}")
    assert backend.model == "m" and backend.base_url == "http://h:8000/v1"
    assert _auth(backend) == f"Bearer {key}" and backend.spec == f"openai:m@{shown}"
    assert key not in repr(backend) and backend._scrub(f"bad key {key}") == "bad key ***"


def test_url_keys_rank_below_explicit_options_and_other_query_parameters_are_kept(monkeypatch):
    url = "https://res.openai.azure.com/openai/v1?api-version=2024-10-21&api-key=sk-url"
    backend = load_backend(f"openai:gpt-4o@{url}", api_key="sk-explicit")
    assert backend._headers == {"api-key": "sk-explicit"}
    assert backend._scrub("sk-url and sk-explicit") == "*** and ***"
    assert backend._url("/chat/completions") == (
        "https://res.openai.azure.com/openai/v1/chat/completions?api-version=2024-10-21"
    )
    assert (
        backend.spec
        == "openai:gpt-4o@https://res.openai.azure.com/openai/v1?api-version=2024-10-21&api-key=***"
    )
    monkeypatch.setenv("MMROLE_API_KEY", "sk-mmrole")  # below the URL's own key
    assert _auth(load_backend("openai:m@http://sk-url@h/v1")) == "Bearer sk-url"


def test_a_key_in_openai_base_url_is_taken_off_it(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://proxy.local/v1?api_key=sk-env")
    backend = load_backend("openai:gpt-4o")
    assert _auth(backend) == "Bearer sk-env" and backend.base_url == "http://proxy.local/v1"
    assert backend.spec == "openai:gpt-4o@http://proxy.local/v1?api_key=***"


def test_errors_about_a_spec_never_quote_its_key():
    with pytest.raises(ConfigError) as caught:
        load_backend("opnai:m@http://user:sk-typo@h/v1")
    assert "sk-typo" not in str(caught.value) and "http://***@h/v1" in str(caught.value)
    with pytest.raises(ConfigError, match="unknown option") as caught:
        load_backend("openai:m@http://user:sk-opt@h/v1", not_an_option=1)
    assert "sk-opt" not in str(caught.value)
