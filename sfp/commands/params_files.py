"""The files derived from the parameter schemas (sfp.schema): the shipped default_params.json files and the tables of
docs/parameters.md. `make params` (python -m sfp.commands.params_files) rewrites them after a schema changes;
`--check` only names the stale ones (exit 1). tests/test_config_schema.py runs the check."""

import argparse
import sys
from pathlib import Path

from sfp.priors.params import PARAMS_FILE as PRIOR_PARAMS_FILE
from sfp.priors.params import PriorParams
from sfp.rl.params import PARAMS_FILE as RL_PARAMS_FILE
from sfp.rl.params import RLParams
from sfp.schema import defaults_file_text, markdown_table

DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "parameters.md"  # in a checkout
TABLES = {"rl-params": RLParams, "flow-params": PriorParams}  # docs marker -> schema


def _with_tables(page: str) -> str:
    """The docs page with each table between <!-- name --> and <!-- /name --> made from its schema."""
    for marker, schema in TABLES.items():
        start, end = f"<!-- {marker} -->\n", f"<!-- /{marker} -->"
        if start not in page or end not in page:
            raise SystemExit(f"{DOCS_PAGE} lacks the markers {start.strip()} ... {end}")
        head, _, rest = page.partition(start)
        tail = rest.partition(end)[2]
        page = head + start + markdown_table(schema) + end + tail
    return page


def derived_files() -> dict[Path, str]:
    """Each derived file and the text it must have."""
    files = {RL_PARAMS_FILE: defaults_file_text(RLParams), PRIOR_PARAMS_FILE: defaults_file_text(PriorParams)}
    if DOCS_PAGE.exists():
        files[DOCS_PAGE] = _with_tables(DOCS_PAGE.read_text())
    return files


def stale_files() -> list[Path]:
    return [path for path, text in derived_files().items() if not path.exists() or path.read_text() != text]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only name the stale files (exit status 1 if any)")
    args = parser.parse_args(argv)
    stale = stale_files()
    for path in stale:
        if not args.check:
            path.write_text(derived_files()[path])
        print(f"{'stale' if args.check else 'rewrote'}: {path}")
    if args.check and stale:
        sys.exit(1)


if __name__ == "__main__":
    main()
