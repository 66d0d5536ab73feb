"""Credentials written inside endpoint URLs: split off to be sent as keys, redacted for display.

People paste URLs that carry their key: ``http://user:KEY@host/v1`` (userinfo), ``...?api_key=KEY``
(a query parameter), or an ``$OPENAI_BASE_URL`` holding either. Such a URL is parsed once into what
requests go to (no credentials), the key, and a display form with every credential replaced by
``***`` (``http://***@host/v1``, ``...?api_key=***``): the only form that may be written or printed
(specs, store keys, run.json, reports, logs, error messages). A URL without credentials displays as
written, so specs and store keys built from it do not change.

    endpoint = parse_endpoint("http://user:sk-1@localhost:8000/v1?api-version=2")
    endpoint.url, endpoint.query, endpoint.key  # 'http://localhost:8000/v1', 'api-version=2', 'sk-1'
    endpoint.display                            # 'http://***@localhost:8000/v1?api-version=2'

Pure text handling: no I/O, no imports beyond the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus, urlsplit

REDACTED = "***"
#: Query parameters whose value is a credential (compared lower-cased, '-' read as '_').
_KEY_PARAM = re.compile(r"^(api_?key|key|access_?token|auth_?token|api_?token|token|secret|password)$")
#: A URL inside free text: scheme://, then everything up to whitespace, a quote or a parenthesis.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>(){}]+")
#: Where the URL starts in an ``openai:MODEL@URL`` argument: the first '@' followed by a scheme.
_URL_START = re.compile(r"@(?=[A-Za-z][A-Za-z0-9+.-]*://)")


@dataclass(frozen=True)
class Endpoint:
    """A URL split into what requests go to, the credential it carried, and its display form.

    Attributes:
        url: scheme://host[:port]/path, without userinfo, query or fragment.
        query: The query parameters that are not credentials, as written ('' if none).
        key: The credential the URL carried (userinfo password, else user name; else the first
            ``api_key``/``key``/``token``... query value), or None.
        display: The URL as written with each credential replaced by ``***``.
    """

    url: str
    query: str
    key: str | None
    display: str


def parse_endpoint(url: str) -> Endpoint:
    """Split a URL's credentials off (see the module docstring); a URL without any is kept as written.

    Raises:
        ValueError: the URL cannot be parsed (e.g. an unclosed ``[`` IPv6 host).
    """
    parts = urlsplit(url)
    netloc, key = parts.netloc, None
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        user, _, password = userinfo.partition(":")
        key = unquote(password) or unquote(user) or None
        netloc = hostport
    kept, shown = [], []
    for item in parts.query.split("&") if parts.query else []:
        name, eq, value = item.partition("=")
        if eq and _KEY_PARAM.match(unquote_plus(name).lower().replace("-", "_")):
            key = key or unquote_plus(value) or None
            shown.append(f"{name}={REDACTED}")
        else:
            kept.append(item)
            shown.append(item)
    if key is None and not at:
        return Endpoint(_join(parts.scheme, netloc, parts.path), parts.query, None, url)
    shown_netloc = f"{REDACTED}@{hostport}" if at else netloc
    display = _join(parts.scheme, shown_netloc, parts.path) + (f"?{'&'.join(shown)}" if shown else "")
    return Endpoint(_join(parts.scheme, netloc, parts.path), "&".join(kept), key, display)


def redact_url(url: str) -> str:
    """The URL with its credentials replaced by ``***`` (unchanged when it has none); never raises."""
    try:
        return parse_endpoint(url).display
    except ValueError:  # unparsable (a broken IPv6 host...): drop anything between :// and an '@'
        return re.sub(r"(://)[^/?#]*@", rf"\g<1>{REDACTED}@", url)


def redact_urls(text: str) -> str:
    """Free text with the credentials of every URL in it replaced by ``***`` (error messages, specs)."""
    if "://" not in text:
        return text

    def redact(match: re.Match[str]) -> str:
        url = match.group(0).rstrip(".,:;!?")  # sentence punctuation after a URL is not part of it
        return redact_url(url) + match.group(0)[len(url) :]

    return _URL_IN_TEXT.sub(redact, text)


def split_model_url(argument: str) -> tuple[str, str | None]:
    """``MODEL@URL`` -> (MODEL, URL); ``MODEL`` -> (MODEL, None).

    The URL starts at the first '@' followed by a scheme (``@http://``), so neither a model name
    holding '@' (``claude-3@20240229``) nor a key in the URL's userinfo is split wrongly. Without a
    scheme (``llama3@localhost:11434/v1``) the URL is what follows the last '@' and gets ``http://``;
    that form cannot carry userinfo unambiguously, so a second '@' there is refused.

    Raises:
        ValueError: a scheme-less URL after a model name that holds '@' (the message quotes neither).
    """
    found = _URL_START.search(argument)
    if found:
        return argument[: found.start()], argument[found.end() :] or None
    model, at, url = argument.rpartition("@")
    if not at or not url:
        return argument, None
    if "@" in model:
        raise ValueError(
            "two '@' and no http:// or https://: write the URL with its scheme "
            "(MODEL@http://[KEY@]HOST/v1) so the model name and the URL's credentials are told apart"
        )
    return model, "http://" + url


def _join(scheme: str, netloc: str, path: str) -> str:
    return f"{scheme}://{netloc}{path}" if scheme else f"{netloc}{path}"
