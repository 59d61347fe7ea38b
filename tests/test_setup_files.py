"""The project's own set-up files agree with each other."""

import json
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _requirement_pins():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line)
            assert match, f"requirements.txt line is not an exact pin: {line!r}"
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_requirements_and_pipfile_pin_the_same_versions():
    pipfile = tomllib.loads((ROOT / "Pipfile").read_text())
    pipfile_pins = {}
    for section in ("packages", "dev-packages"):
        for name, spec in pipfile.get(section, {}).items():
            assert spec.startswith("=="), f"Pipfile pin for {name} is not exact: {spec}"
            pipfile_pins[name.lower()] = spec[2:]
    assert pipfile_pins == _requirement_pins()
    assert "source" not in pipfile, "the Pipfile names no package index"


def test_torch_is_pinned_to_the_cpu_wheel_version():
    assert _requirement_pins()["torch"] == "2.13.0"


def test_parameter_files_follow_the_default_help_format():
    for path in (ROOT / "default_params.json", ROOT / "flows" / "default_params.json"):
        for key, entry in json.loads(path.read_text()).items():
            assert isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], str), (path, key)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make run" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_parameters_page_documents_every_parameter_with_its_default():
    readme = (ROOT / "docs" / "parameters.md").read_text()
    for path in (ROOT / "default_params.json", ROOT / "flows" / "default_params.json"):
        for key, (default, _) in json.loads(path.read_text()).items():
            assert f"| `{key}` | `{json.dumps(default)}` |" in readme, (
                f"{path.name}: {key} missing or stale in docs/parameters.md"
            )


def heading_anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation but '-' and '_' dropped, spaces as '-'."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", page.read_text(), flags=re.S), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def test_heading_anchors_follow_githubs_rule():
    page = ROOT / "docs" / "rl.md"
    assert {"stage-3-downstream-rl", "tuned-α-and-pink-action-noise", "parameters-from-a-file"} <= heading_anchors(page)


def test_the_readme_is_a_short_map_whose_links_all_resolve():
    """README under 300 lines; every relative link of README, docs/ and results/ names a file that exists, and a
    heading of it when the link has an anchor."""
    assert len((ROOT / "README.md").read_text().splitlines()) < 300
    pages = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "results").rglob("README.md")]
    missing = []
    for page in pages:
        for link, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", page.read_text()):
            target = page.parent / link if link else page
            if "://" in link:
                continue
            if not target.exists():
                missing.append(f"{page.relative_to(ROOT)}: {link}")
            elif anchor and target.suffix == ".md" and anchor not in heading_anchors(target):
                missing.append(f"{page.relative_to(ROOT)}: {link}#{anchor}")
    assert not missing
