"""docs/caching.md lists every process-local cache with the bound and TTL its code declares."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "accounts",
    "ads",
    "billing",
    "catalog",
    "config",
    "core",
    "licensing",
    "marketplace",
    "portal",
)
DECLARATION = re.compile(
    r'LocalCache\(\s*"(?P<name>[\w.]+)",\s*maxsize=(?P<maxsize>[\d_]+),\s*'
    r"ttl_s=(?P<ttl>[\d_.]+|None)\s*\)"
)


def _declared() -> dict[str, tuple[int, float | None, str]]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for match in DECLARATION.finditer(path.read_text()):
                ttl = match["ttl"]
                found[match["name"]] = (
                    int(match["maxsize"].replace("_", "")),
                    None if ttl == "None" else float(ttl.replace("_", "")),
                    str(path.relative_to(ROOT)),
                )
    return found


def _documented() -> dict[str, tuple[int, float | None, str]]:
    doc = (ROOT / "docs" / "caching.md").read_text()
    section = doc.split("## Process-local caches", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 7 or not cells[0].startswith("`"):
            continue
        maxsize = int(cells[3].split()[0].replace(",", ""))
        ttl = None if cells[4] == "none" else float(cells[4].split()[0].replace(",", ""))
        rows[cells[0].strip("`")] = (maxsize, ttl, cells[6].strip("`"))
    return rows


def test_every_local_cache_is_documented_with_its_bound_ttl_and_module():
    declared = _declared()
    assert len(declared) >= 8
    assert _documented() == declared
