"""CI's dependency audit (.ci/audit.py): what pip-audit could not ask is read from PyPI's project
document only for a package locked at the latest release; nothing unseen passes as clean."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("ci_audit", Path(__file__).parent.parent / ".ci" / "audit.py")
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)

LOCK = "aiohttp==3.14.5\nJinja2==3.1.6\nnumpy==2.4.6  # the last for Python 3.11\nurllib3==2.0.0\n-e .\n"
SKIPPED = "Dependency not found on PyPI and could not be audited"


def project(latest: str, *vulns: dict) -> dict:
    return {"info": {"version": latest}, "vulnerabilities": list(vulns)}


def test_lock_pins_by_canonical_name():
    assert audit.locked(LOCK) == {"aiohttp": "3.14.5", "jinja2": "3.1.6", "numpy": "2.4.6", "urllib3": "2.0.0"}


def test_what_pip_audit_skipped_is_read_from_the_project_document_at_the_latest_release_only():
    report = {"dependencies": [
        {"name": "aiohttp", "skip_reason": SKIPPED},
        {"name": "Jinja2", "skip_reason": SKIPPED},
        {"name": "numpy", "skip_reason": SKIPPED},
        {"name": "urllib3", "version": "2.0.0", "vulns": [{"id": "GHSA-1", "fix_versions": ["2.0.7"]}]}]}
    documents = {
        "aiohttp": project("3.14.5"),
        "Jinja2": project("3.1.6", {"id": "PYSEC-2", "fixed_in": ["3.1.7"]},
                          {"id": "PYSEC-0", "fixed_in": [], "withdrawn": "2025-01-01"}),
        "numpy": project("2.5.5", {"id": "not-about-2.4.6"}),  # describes another release
    }
    result = audit.verdict(report, audit.locked(LOCK), documents.get)
    assert result["found"] == [("Jinja2", "3.1.6", "PYSEC-2", ["3.1.7"]), ("urllib3", "2.0.0", "GHSA-1", ["2.0.7"])]
    assert (result["direct"], result["fallback"], result["unaudited"]) == (1, 2, ["numpy==2.4.6"])


def test_an_unreachable_document_leaves_the_package_unaudited():
    report = {"dependencies": [{"name": "aiohttp", "skip_reason": SKIPPED}]}
    assert audit.verdict(report, {"aiohttp": "3.14.5"}, lambda name: None)["unaudited"] == ["aiohttp==3.14.5"]
    no_data = {"info": {"version": "3.14.5"}}  # a mirror that strips the advisory field
    assert audit.verdict(report, {"aiohttp": "3.14.5"}, lambda name: no_data)["unaudited"] == ["aiohttp==3.14.5"]


def test_a_known_vulnerability_fails(tmp_path, monkeypatch, capsys):
    (tmp_path / "report.json").write_text('{"dependencies": [{"name": "jinja2", "skip_reason": "x"}]}')
    (tmp_path / "requirements.lock").write_text(LOCK)
    monkeypatch.setattr(audit, "fetch_project", lambda name: project("3.1.6", {"id": "PYSEC-2", "fixed_in": []}))
    assert audit.main(str(tmp_path / "report.json"), str(tmp_path / "requirements.lock")) == 1
    assert "VULNERABLE jinja2==3.1.6: PYSEC-2" in capsys.readouterr().out
    monkeypatch.setattr(audit, "fetch_project", lambda name: project("3.1.6"))
    assert audit.main(str(tmp_path / "report.json"), str(tmp_path / "requirements.lock")) == 0
