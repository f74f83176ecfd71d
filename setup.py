"""Compiles the translations while the package is built: no manual step.

Everything else about the package is in pyproject.toml; this only adds to build_py.
"""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGS = "bot.i18n"


class BuildPyWithTranslations(build_py):
    """build_py, then each locales/<lang>/LC_MESSAGES/*.po compiled to the .mo beside it:
    into the build (wheel, regular install) or, for an editable install, the sources."""

    def run(self) -> None:
        super().run()
        source = Path(self.get_package_dir(CATALOGS))
        target = source if self.editable_mode else Path(self.build_lib, *CATALOGS.split("."))
        for po in sorted(source.glob("locales/*/LC_MESSAGES/*.po")):
            mo = target / po.relative_to(source).with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as po_file:
                catalog = read_po(po_file)
            with mo.open("wb") as mo_file:
                write_mo(mo_file, catalog)


setup(cmdclass={"build_py": BuildPyWithTranslations})
