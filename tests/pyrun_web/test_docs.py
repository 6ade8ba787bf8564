"""The README's configuration table lists every variable the settings read."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_variable_is_documented():
    settings_src = (ROOT / "pyrun_web" / "settings.py").read_text()
    variables = set(re.findall(r'env\.\w+\("([A-Z_]+)"', settings_src))
    variables |= set(re.findall(r'_secret\("([A-Z_]+)"', settings_src))
    readme = (ROOT / "README.md").read_text()
    assert variables, "the settings read no variables?"
    missing = sorted(v for v in variables if f"`{v}`" not in readme)
    assert not missing, f"README configuration table lacks {missing}"


def test_operator_docs_linked_from_readme_exist():
    readme = (ROOT / "README.md").read_text()
    for link in re.findall(r"\]\((docs/[^)]+)\)", readme):
        assert (ROOT / link).exists(), link
