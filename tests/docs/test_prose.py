"""The docs' prose templates: every language holds the same entries, and an entry without its title is refused."""

import pytest

from tools.docs import prose

KOREAN_ONLY = {"GLOSSARY", "TOLERANCE_WHY", "RESULT_NAMES", "COST_NAMES"}  # English uses the code's own words
NAMES = sorted({path.name.split(".")[0] for path in prose.TEMPLATES.glob("*.md")})


def _entries(found: dict) -> dict:
    return {name: set(v) if isinstance(v, dict) else "text" for name, v in found.items()
            if name not in KOREAN_ONLY and v}


@pytest.mark.parametrize("name", NAMES)
def test_each_template_has_the_same_entries_in_every_language(name):
    langs = [lang for lang in prose.LANGS if (prose.TEMPLATES / f"{name}.{lang}.md").is_file()]
    assert "en" in langs, f"{name}: no English template"
    english = _entries(prose.read(f"{name}.en.md"))
    assert english, f"{name}.en.md has no entries"
    for lang in langs:
        assert _entries(prose.read(f"{name}.{lang}.md")) == english, f"{name}.{lang}.md"


def test_an_entry_without_its_title_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(prose, "TEMPLATES", tmp_path)
    (tmp_path / "bad.en.md").write_text("<!-- STAGES: manual -->\nno title line\n", encoding="utf-8")
    with pytest.raises(ValueError, match="STAGES: manual must open with a `## title`"):
        prose.read("bad.en.md")
    (tmp_path / "good.en.md").write_text("<!-- header, ignored -->\n\n<!-- TITLE -->\nA {thing}\n\n"
                                         "<!-- STAGES: manual -->\n## by hand\n\nThe prose.\n", encoding="utf-8")
    found = prose.read("good.en.md")
    assert found["TITLE"] == "A {thing}" and found["STAGES"] == {"manual": ("by hand", "The prose.")}
