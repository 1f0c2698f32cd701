"""Language detection: declared tags win, detection covers agency languages, and the
prepared-model cache is built once, reused, and never needed for correctness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from parsers.language import detect_language, normalize_language_tag

REPO = Path(__file__).resolve().parents[1]
SAMPLES = {
    "en": "The central bank raised interest rates on Thursday, citing stubborn inflation and a tight labour market.",
    "de": "Die Zentralbank hat am Donnerstag die Zinsen angehoben und verwies auf die hartnäckige Inflation.",
    "fr": "La banque centrale a relevé jeudi ses taux d'intérêt, invoquant une inflation persistante.",
    "pl": "Bank centralny podniósł w czwartek stopy procentowe, powołując się na uporczywą inflację.",
    "es": "El banco central subió el jueves los tipos de interés, citando una inflación persistente.",
    "it": "La banca centrale ha alzato giovedì i tassi di interesse, citando un'inflazione persistente.",
    "ru": "Центральный банк в четверг повысил процентные ставки, сославшись на устойчивую инфляцию.",
    "ar": "رفع البنك المركزي أسعار الفائدة يوم الخميس مشيرا إلى استمرار التضخم.",
}


@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_detects_agency_languages(code: str) -> None:
    assert detect_language(SAMPLES[code]) == code


def test_declared_tag_wins_and_is_normalized() -> None:
    assert detect_language(SAMPLES["de"], "en-GB") == "en"
    assert normalize_language_tag("pt_BR") == "pt"
    assert normalize_language_tag("x-klingon") is None
    assert detect_language(SAMPLES["fr"], "not a tag") == "fr"


def test_cld2_answers_when_sure_and_py3langid_when_not() -> None:
    from parsers.language import _cld2, _identifier

    for code, text in SAMPLES.items():
        assert _cld2(text) in (code, None)
        assert str(_identifier().classify(text)[0]) == code  # the fallback knows them all too
    figures = "41 / 29 -- 2,118,000 / 1,497,000 -- 40.2 / 35.9"
    assert _cld2(figures) is None  # no words: CLD2 is not sure, py3langid decides
    assert detect_language(figures) == str(_identifier().classify(figures)[0])
    assert detect_language("Dollar falls below 140 yen in Tokyo") == "en"  # a headline: py3langid, not CLD2
    assert _cld2("Hebrew: \u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd " * 20) in ("he", None)  # never "iw"
    assert detect_language("caf\udce9 " * 30) is not None  # a lone surrogate: CLD2 refuses, py3langid reads


def test_only_the_start_of_a_long_body_is_read() -> None:
    # A German story with a long English quote block at the end is still German.
    body = " ".join([SAMPLES["de"]] * 12) + " " + " ".join([SAMPLES["en"]] * 40)
    assert detect_language(body) == "de"


def _detect_in_child(cache: Path) -> dict[str, object]:
    """py3langid's answers (the fallback detector, whose model is the one cached)."""
    code = (
        "import json, sys\n"
        "from parsers.language import _identifier\n"
        f"print(json.dumps({{c: str(_identifier().classify(t)[0]) for c, t in {SAMPLES!r}.items()}}))\n"
    )
    env = dict(os.environ, WIRE_INGEST_CACHE_DIR=str(cache))
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return {"detected": json.loads(done.stdout), "stderr": done.stderr}


def test_model_cache_is_prepared_once_then_reused(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _detect_in_child(cache)
    folders = list(cache.iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("py3langid-")
    files = {p.name: p.stat().st_mtime_ns for p in folders[0].iterdir()}
    assert {"ptc.npy", "pc.npy", "classes.npy", "nextmove.npy", "row.npy", "output.npy"} <= set(files)
    second = _detect_in_child(cache)
    assert {p.name: p.stat().st_mtime_ns for p in folders[0].iterdir()} == files  # reused, not rewritten
    assert first["detected"] == second["detected"] == {code: code for code in SAMPLES}


def test_unusable_cache_falls_back_to_the_shipped_model(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    result = _detect_in_child(blocker)
    assert result["detected"] == {code: code for code in SAMPLES}
    assert "language model cache unusable" in str(result["stderr"])


# Results tables as the 1987 Reuters wire sent them (headline in capitals, no blank line
# after it, four-space indents, LF line ends, a " Reuter" sign-off): the body alone is
# figures and abbreviations. Read without their headline they were Volapük or Latvian.
RESULTS_TABLES = (
    b"CRESCENT CO <BCW.O> 1ST QTR NET\n    Shr 65 cts vs 28 cts\n    Net 56.6 mln vs 12.8 mln\n"
    b"    Revs 73.1 mln vs 9651,163\n Reuter\n",
    b"CRESCENT SYSTEMS <RMKH.TO> 2ND QTR SEPT 30\n    Shr 11 cts vs 74 cts\n    Net 64.5 mln vs 4817,723\n"
    b"    Revs 2034,624 vs 97.5 mln\n    Nine mths\n    Shr 2.63 dlrs vs 1.95 dlrs\n"
    b"    Net 72.9 mln vs 5240,448\n Reuter\n",
    b"CASCADE BANCORP <PMNH> 2ND QTR SEPT 30\n    Shr 20 cts vs 30 cts\n    Net 297,596 vs 3087,369\n"
    b"    Revs 19.6 mln vs 9378,426\n Reuter\n",
)


@pytest.mark.parametrize("raw", RESULTS_TABLES, ids=["lv", "vo-nine-months", "vo"])
def test_a_results_table_is_read_with_its_headline(raw: bytes) -> None:
    from parsers import parse_story

    story = parse_story(raw, "test://table")
    assert story.body.startswith("Shr ")  # the table is the body, its headline apart
    assert story.language == "en"


def test_languages_no_wire_files_in_are_never_answered() -> None:
    from parsers.language import NEVER_ANSWERED, _cld2, _identifier

    assert not NEVER_ANSWERED & set(_identifier().nb_classes)
    latin = "Gallia est omnis divisa in partes tres, quarum unam incolunt Belgae, aliam Aquitani. " * 4
    assert _cld2(latin) not in NEVER_ANSWERED
    assert detect_language(latin) not in NEVER_ANSWERED
    # A brief in capitals is read in lower case (short English copy was Latin to the model).
    assert detect_language("", headline="NEC TO SUPPLY CHIP TECHNOLOGY TO FRANCE") == "en"
    assert detect_language(SAMPLES["de"], "la") == "la"  # a declared tag is kept as declared
