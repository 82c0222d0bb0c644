"""Hide secrets before a config is logged or written anywhere: by key (tokens, passwords, keys, singular or plural,
compound names such as private_key_pem or connection_string) and by value (URL user-info, secret query parameters)."""
from __future__ import annotations

import re
from typing import Any

REDACTED = "***REDACTED***"

# Whole words in a key name that mark its value as secret ("max_tokens" and "tokenizer" are not secrets).
_SECRET_WORDS = frozenset({
    "password", "passwd", "pass", "pwd", "passphrase", "secret", "token", "credential", "credentials",
    "apikey", "auth", "authorization", "cookie", "signature", "privatekey", "accesskey", "connectionstring", "dsn",
})
# First words that make a key a count or a limit, not a secret ("max_tokens", "num_tokens").
_COUNT_WORDS = frozenset({"max", "min", "num", "n", "total", "count"})
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_QUERY_PARAM = re.compile(r"(?P<lead>[?&;])(?P<key>[^=&#;\s]+)=(?P<value>[^&#;\s]*)")


def _words(key: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)  # camelCase -> camel Case
    return [w for w in re.split(r"[^a-zA-Z0-9]+", spaced.lower()) if w]


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") and len(word) > 3 else word


def is_secret_key(key: object) -> bool:
    """Whether a config key names a secret: a secret word in it (singular or plural, two adjacent words read as one),
    or ending in `key(s)` (key, api_keys, secretKey); counts such as `max_tokens` are not secrets."""
    words = [_singular(w) for w in _words(str(key))]
    if not words or (words[0] in _COUNT_WORDS and len(words) > 1):
        return False
    pairs = {a + b for a, b in zip(words, words[1:])}
    return (words[-1] == "key" or "".join(words) in _SECRET_WORDS or any(w in _SECRET_WORDS for w in words)
            or bool(pairs & _SECRET_WORDS))


def redact_text(text: str) -> str:
    """Strip `user:password@` from any URLs inside `text`, and the values of secret query parameters (`?token=`)."""
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    return _QUERY_PARAM.sub(lambda m: f"{m.group('lead')}{m.group('key')}={REDACTED}"
                            if is_secret_key(m.group("key")) and m.group("value") else m.group(0), text)


def without_userinfo(text: str) -> str:
    """`text` with the `user:password@` of any URL in it removed (addresses as they are printed)."""
    return _URL_USERINFO.sub(lambda m: m.group("scheme"), text)


def has_secret(value: Any) -> bool:
    """Whether `value` (at any depth) holds something `redact` would hide."""
    return redact(value) != value


def redact(value: Any) -> Any:
    """A copy of `value` (nested dicts, lists, strings) with secret-named entries and URL credentials replaced."""
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_key(k) and v is not None else redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v) for v in value)
    if isinstance(value, str):
        return redact_text(value)
    return value


def redacted_paths(value: Any, prefix: str = "") -> list[str]:
    """Dotted key paths in `value` whose values were redacted (for warnings downstream)."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            found.extend([path] if v == REDACTED else redacted_paths(v, path))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found.extend(redacted_paths(v, f"{prefix}[{i}]"))
    return found


def split_secrets(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`config` as (public part, secret part): secret-named entries at any depth, and values holding a secret (a URL
    with user-info, a list with a token in it), move to the second mapping, so they reach trials without being
    written by Ray (params.json, results)."""
    public: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    for key, value in config.items():
        if (is_secret_key(key) and value is not None) or (not isinstance(value, dict) and has_secret(value)):
            secrets[key] = value
        elif isinstance(value, dict):
            public[key], inner = split_secrets(value)
            if inner:
                secrets[key] = inner
        else:
            public[key] = value
    return public, secrets


def merge_secrets(config: dict[str, Any], secrets: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `split_secrets`: a copy of `config` with the secret entries put back."""
    merged = dict(config)
    for key, value in secrets.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_secrets(merged[key], value)
        else:
            merged[key] = value
    return merged
