"""Secrets stay secret: found by key (plural, compound) and by value (URL user-info, `?token=`, inside lists), kept out
of Ray's param_space and every sweep file, `hpo validate`, spec errors, job entrypoints and printed addresses."""
from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from orchestrator.cli.main import main
from orchestrator.jobs.auth import TokenSource, find_token, transport_warnings
from orchestrator.jobs.client import JobsClient, resolve_address
from orchestrator.jobs.errors import ClusterUnreachable
from orchestrator.jobs.submit import job_request
from orchestrator.redaction import REDACTED, is_secret_key, redact, split_secrets
from orchestrator.spec import load_spec_text
from orchestrator.spec.overrides import SECRET_OVERRIDES_ENV, overrides_from_env

SECRET_CONFIG = {
    "db_url": "postgresql://ml:PASS-77@db.internal/ml",
    "headers": ["Accept: json", {"token": "tok-in-list"}],
    "model_uri": "https://hub.example/m?token=qtok-55&rev=2",
    "secrets": ["s-1"], "api_keys": ["k-2"], "tokens": ["t-3"], "passwords": ["p-4"],
    "private_key_pem": "pem-5", "connection_string": "cs-6",
}
SECRET_VALUES = ("PASS-77", "tok-in-list", "qtok-55", "s-1", "k-2", "t-3", "p-4", "pem-5", "cs-6")


def test_secret_keys_plural_and_compound_but_not_counts() -> None:
    for key in ("secrets", "api_keys", "tokens", "passwords", "private_key_pem", "connection_string", "hf_token"):
        assert is_secret_key(key), key
    for key in ("max_tokens", "num_tokens", "tokenizer", "monkey", "batch_size", "learning_rate"):
        assert not is_secret_key(key), key


def test_secrets_by_value_never_reach_the_param_space() -> None:
    from orchestrator.runner.tuner import param_space_of

    public, secret = split_secrets({**SECRET_CONFIG, "lr": 0.1, "nested": {"dsn": "x", "depth": 3}})
    assert public == {"lr": 0.1, "nested": {"depth": 3}}
    assert set(secret) == {*SECRET_CONFIG, "nested"}
    text = json.dumps(redact(SECRET_CONFIG))
    assert not any(value in text for value in SECRET_VALUES) and REDACTED in text
    spec = load_spec_text("name: s\ntrainable: sweep_trainables:quadratic\nmetric: m\nmode: max\n"
                          f"config: {json.dumps(SECRET_CONFIG)}\nspace: {{x: {{uniform: [0, 1]}}}}\n", "s.yaml")
    space = json.dumps(param_space_of(spec), default=str)
    assert not any(value in space for value in SECRET_VALUES)


SPEC = Path(__file__).resolve().parents[1] / "search_spaces" / "quickstart.yaml"


def test_validate_summary_and_spec_errors_never_show_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(SPEC), "--set", "config.hf_token=hf-SECRET-1",
                 "--set", "config.db_url=postgresql://u:PASS-2@h/db", "--set", "storage=s3://u:PASS-3@b/x"]) == 0
    out = capsys.readouterr().out
    assert "constants:" in out and not any(s in out for s in ("hf-SECRET-1", "PASS-2", "PASS-3"))
    for bad in ("config.hf_token={grid_search: [hf-SECRET-4]}", "config.hf_token=[hf-SECRET-4",
                "config.scaler=https://u:PASS-5@h/x"):
        assert main(["validate", str(SPEC), "--set", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("hpo: error: --set config.") and "SECRET-4" not in err and "PASS-5" not in err, err


def test_name_must_match_in_full(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "n.yaml"
    bad.write_text(SPEC.read_text().replace("name: quickstart", 'name: "demo\\n"'))
    assert main(["validate", str(bad)]) == 2
    assert "name: 'demo\\n' must match" in capsys.readouterr().err


def test_submitted_job_gets_secret_overrides_out_of_its_entrypoint(monkeypatch: pytest.MonkeyPatch) -> None:
    overrides = ["search.num_samples=3", "config.hf_token=hf-SECRET-6", "config.db_url=postgresql://u:PASS-7@h/db"]
    entrypoint, runtime_env = job_request("spec.yaml", {"working_dir": "/w", "env_vars": {"A": "1"}}, overrides)
    assert "--set search.num_samples=3" in entrypoint
    assert "SECRET-6" not in entrypoint and "PASS-7" not in entrypoint and "hf_token" not in entrypoint
    assert runtime_env["env_vars"]["A"] == "1" and runtime_env["working_dir"] == "/w"
    monkeypatch.setenv(SECRET_OVERRIDES_ENV, runtime_env["env_vars"][SECRET_OVERRIDES_ENV])
    shipped = overrides_from_env()   # what the job's `hpo run` adds to its own --set items
    assert shipped == overrides[1:]
    spec = load_spec_text(SPEC.read_text(), "q.yaml", ["search.num_samples=3", *shipped])
    assert spec.config["hf_token"] == "hf-SECRET-6" and spec.search.num_samples == 3


def test_addresses_are_printed_without_user_info(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "job1", "--address", "ray://admin:PASS-8@head:10001"]) == 2
    err = capsys.readouterr().err
    assert "PASS-8" not in err and "admin" not in err and "ray://head:10001" in err
    assert main(["status", "job1", "--address", "http://admin:PASS-9@127.0.0.1:9"]) != 0   # nothing listens there
    err = capsys.readouterr().err
    assert "PASS-9" not in err and "admin" not in err and "cannot reach the Ray Jobs API at http://127.0.0.1:9" in err
    assert resolve_address("http://u:p@h:8265") == "http://u:p@h:8265"   # the SDK still gets the credentials


def test_token_file_writable_by_others_and_plain_http_are_warned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    token_file = tmp_path / "auth_token"
    token_file.write_text("tok-abc\n")
    token_file.chmod(0o666)
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(token_file))
    source = find_token()
    assert source is not None and source.token == "tok-abc"
    warnings = transport_warnings(source, "http://10.1.2.3:8265")
    assert any("writable by group or others" in w for w in warnings)
    assert any("plain http to 10.1.2.3" in w for w in warnings)
    token_file.chmod(0o600)
    assert transport_warnings(source, "http://127.0.0.1:8265") == []
    assert transport_warnings(source, "https://head.example:8265") == []
    assert transport_warnings(TokenSource("t", "RAY_AUTH_TOKEN"), "http://localhost:8265") == []
    caplog.set_level(logging.WARNING, logger="orchestrator.jobs")
    with pytest.raises(ClusterUnreachable):   # 0.0.0.0 is not loopback, and refuses at once
        JobsClient("http://0.0.0.0:9", token=source)
    assert any("plain http to 0.0.0.0" in r.getMessage() for r in caplog.records)
    assert not any("tok-abc" in r.getMessage() for r in caplog.records)


def test_value_secrets_reach_trials_but_no_file_and_report_draws_dollar_labels(ray_local, tmp_path: Path) -> None:
    """One sweep: secrets found by value reach the trainable and no file; a parameter value like `$DATA_ROOT/x_$V`
    (mathtext to matplotlib) is drawn in the report as it is."""
    from orchestrator.api import run_sweep
    from orchestrator.report import write_report

    config = {"db_url": SECRET_CONFIG["db_url"], "headers": SECRET_CONFIG["headers"]}
    spec = load_spec_text(f"""\
name: valsec
trainable: sweep_trainables:needs_value_secrets
metric: ok
mode: max
config: {json.dumps(config)}
space:
  data_path: {{grid: ["$DATA_ROOT/x_$V", "$a^{{$"]}}
search: {{method: grid}}
storage: {tmp_path / "runs"}
""", "valsec.yaml")
    result = run_sweep(spec, quiet=True, stream=io.StringIO())
    assert result.best_metric == 1.0 and result.num_trials == 2
    for path in (p for p in (tmp_path / "runs" / "valsec").rglob("*") if p.is_file()):
        data = path.read_bytes()
        assert b"PASS-77" not in data and b"tok-in-list" not in data, path
    report = write_report(str(tmp_path / "runs" / "valsec"), tmp_path / "report")
    assert (tmp_path / "report" / "report.html").exists() and report is not None
