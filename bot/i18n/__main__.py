"""Catalog upkeep with Babel: ``python -m bot.i18n extract|update|check``.

extract  writes the template (locales/warden.pot) from every t(...) and locale_str(...)
update   merges the template into every language's catalog (new ids empty, old ones removed)
check    exits 1 when the template is not current (a string added without extract)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

from bot.i18n.catalogs import DOMAIN, TEMPLATE, catalog_path
from bot.i18n.locales import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = ("t", "locale_str")


def extract_catalog() -> Catalog:
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project="Warden", domain=DOMAIN, charset="utf-8")
    keywords = {k: None for k in KEYWORDS}
    for folder in ("bot", "cogs"):
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=keywords,
            comment_tags=("i18n:",), strip_comment_tags=True,
        ):
            if isinstance(message, str) and message:
                catalog.add(message, None, [(f"{folder}/{filename}", lineno)],
                            auto_comments=comments, context=context,
                            flags=("python-brace-format",) if "{" in message else ())
    return catalog


def _write(catalog: Catalog, path: Path) -> None:
    from babel.messages.pofile import write_po

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, sort_output=False,
                 include_lineno=False)


def _ids(catalog: Catalog) -> list[str]:
    return [str(m.id) for m in catalog if m.id]


def main(argv: list[str]) -> int:
    from babel.messages.pofile import read_po

    command = argv[0] if argv else ""
    if command == "extract":
        _write(extract_catalog(), TEMPLATE)
        return 0
    if command == "update":
        with TEMPLATE.open("rb") as handle:
            template = read_po(handle)
        for language in LANGUAGES[1:]:
            path = catalog_path(language)
            if path.exists():
                with path.open("rb") as handle:
                    catalog = read_po(handle, locale=language.catalog)
            else:
                from babel.messages.catalog import Catalog
                catalog = Catalog(locale=language.catalog, domain=DOMAIN, project="Warden")
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
            _write(catalog, path)
        return 0
    if command == "check":
        with TEMPLATE.open("rb") as handle:
            current = _ids(read_po(handle))
        if sorted(current) != sorted(_ids(extract_catalog())):
            print("error: locales/warden.pot is out of date: run python -m bot.i18n extract "
                  "then update", file=sys.stderr)
            return 1
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
