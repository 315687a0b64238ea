"""CI: known vulnerabilities in the locked dependencies, from pip-audit's JSON report, completed
where pip-audit could not ask.

    python .ci/audit.py REPORT.json requirements.lock

pip-audit looks each locked version up at https://pypi.org/pypi/NAME/VERSION/json. Some PyPI
mirrors answer only the project document (https://pypi.org/pypi/NAME/json), which carries the
known vulnerabilities of the project's latest release: for a package locked at exactly that
release it is the same advisory data, so it is read instead. Any other package stays unaudited and
is counted in a loud warning, never passed as clean. Exit 1 on any known vulnerability.
Standard library only: it runs in pip-audit's own venv.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable

PROJECT = "https://pypi.org/pypi/{}/json"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(text: str) -> dict[str, str]:
    """name -> version of every `name==version` line of a lock file."""
    pins = (line.split("#")[0].strip().split("==") for line in text.splitlines())
    return {canonical(pin[0]): pin[1].split(";")[0].strip() for pin in pins if len(pin) == 2}


def verdict(report: dict, pins: dict[str, str], project: Callable[[str], dict | None]) -> dict:
    """The vulnerabilities found (name, version, advisory id, fixed in), how many packages were
    audited by pip-audit and by the project document, and which could not be audited."""
    found, unaudited, direct, fallback = [], [], 0, 0
    for dep in report["dependencies"]:
        name = dep["name"]
        version = dep.get("version") or pins.get(canonical(name), "?")
        if "skip_reason" not in dep:
            direct += 1
            found += [(name, version, v["id"], v.get("fix_versions", [])) for v in dep.get("vulns", [])]
            continue
        doc = project(name)
        if not doc or doc.get("info", {}).get("version") != version or "vulnerabilities" not in doc:
            unaudited.append(f"{name}=={version}")
            continue
        fallback += 1
        found += [(name, version, v["id"], v.get("fixed_in", []))
                  for v in doc["vulnerabilities"] if not v.get("withdrawn")]
    return {"found": found, "direct": direct, "fallback": fallback, "unaudited": unaudited}


def fetch_project(name: str) -> dict | None:
    try:
        with urllib.request.urlopen(PROJECT.format(name), timeout=30) as response:
            return json.load(response)
    except (urllib.error.URLError, TimeoutError, ValueError):
        return None


def main(report_path: str, lock_path: str) -> int:
    with open(report_path, encoding="utf-8") as handle:
        report = json.load(handle)
    with open(lock_path, encoding="utf-8") as handle:
        pins = locked(handle.read())
    result = verdict(report, pins, fetch_project)
    for name, version, advisory, fixed in result["found"]:
        print(f"VULNERABLE {name}=={version}: {advisory} (fixed in {', '.join(fixed) or 'no release yet'})")
    print(f"audit: {result['direct']} packages looked up by pip-audit, {result['fallback']} through PyPI's "
          f"project document (locked at the latest release), {len(result['unaudited'])} not audited")
    if result["unaudited"]:
        print(f"CI: WARNING: no advisory data reached for {len(result['unaudited'])} locked packages: "
              f"{', '.join(result['unaudited'])}", file=sys.stderr)
    return 1 if result["found"] else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
