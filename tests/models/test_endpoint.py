"""Credentials inside URLs: split off for sending, shown as *** everywhere else."""

from __future__ import annotations

import pytest

from mmrole.models.endpoint import parse_endpoint, redact_urls


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("openai:m@http://user:sk-1@h:8000/v1", "openai:m@http://***@h:8000/v1"),
        ("HTTP 401 from http://h/v1?x=1&Api-Key=sk-2: no", "HTTP 401 from http://h/v1?x=1&Api-Key=***: no"),
        (
            "'https://sk-3@h/v1' and (http://h/v1?token=sk-4)",
            "'https://***@h/v1' and (http://h/v1?token=***)",
        ),
        ("http://u:sk-5@[::1]:8000/v1?access_token=sk-6", "http://***@[::1]:8000/v1?access_token=***"),
        ("http://u:sk-7@[::1/v1", "http://***@[::1/v1"),  # unparsable: the userinfo still goes
    ],
)
def test_redact_urls_hides_every_credential(text, shown):
    assert redact_urls(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "openai:m@http://h:8000/v1/",
        "openai:gpt-4o@https://res.openai.azure.com/openai/v1?api-version=2024-10-21",
        "openai:llava:13b@http://localhost:11434/v1",
        "no url here: key=sk",
    ],
)
def test_text_without_credentials_is_unchanged_so_store_keys_stay_valid(text):
    assert redact_urls(text) == text


def test_parse_endpoint_keeps_the_other_query_parameters():
    endpoint = parse_endpoint("http://h/v1?api-version=2&key=sk-8&x=%20y")
    assert (endpoint.url, endpoint.query, endpoint.key) == ("http://h/v1", "api-version=2&x=%20y", "sk-8")
    assert endpoint.display == "http://h/v1?api-version=2&key=***&x=%20y"
