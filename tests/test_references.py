"""REFERENCES.md is the course's one bibliography: every citation in a lesson matches an entry, and each
entry's "used in" column lists exactly the lessons that cite it."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
VENUES = ("NIPS", "NeurIPS", "ICLR", "ICML", "CVPR", "ICCV", "ECCV", "Distill", "CCS", "PoPETs", "TCC", "TMLR",
          "CSF", "IPMI", "Medical Image Analysis", "SIGGRAPH", "arXiv", "IEEE TVCG")
_VENUE = "|".join(re.escape(v) for v in sorted(VENUES, key=len, reverse=True))
_YEAR = r"(?:19|20)\d{2}"
# "ICLR 2016", "*IEEE TVCG* 2019", "arXiv:1609.04468, 2016"; "2017, arXiv"; and reference lists' "(2018). Title. ICLR."
MENTION = re.compile(rf"\b(?P<v1>{_VENUE})\*?(?::?\s?\d{{4}}\.\d{{4,5}})?[ ,]+(?P<y1>{_YEAR})\b"
                     rf"|\b(?P<y2>{_YEAR}), (?P<v2>{_VENUE})\b"
                     rf"|\b(?P<y3>{_YEAR})\)\.\s[^*|]{{0,250}}?\.\s+(?P<v3>{_VENUE})\b")
WINDOW = 300


def entries():
    """The rows of REFERENCES.md's table: surname of the first author, authors, title, venue, year, lessons."""
    rows = []
    for line in (ROOT / "REFERENCES.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not re.fullmatch(r"\d+", cells[0]):
            continue
        authors, title, where, used = cells[1:]
        venue_year = re.fullmatch(rf"({_VENUE}) ({_YEAR})", where)
        assert venue_year, f"REFERENCES.md entry {cells[0]}: venue and year {where!r} not in the form 'VENUE YEAR'"
        surnames = [a.split()[-1] for a in authors.split(", ")]
        rows.append({"n": int(cells[0]), "surnames": surnames, "title": title.strip("*\""),
                     "venue": venue_year.group(1), "year": venue_year.group(2),
                     "used": set(re.findall(r"\b\d{2}\b", used))})
    return rows


def lesson_text(path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"])


def citations(text: str, refs: list) -> tuple[list, list]:
    """(matched entries, unmatched mentions) for every venue-and-year mention in ``text``."""
    found, unmatched, previous_end = [], [], 0
    for m in MENTION.finditer(text):
        venue, year = next((m.group(f"v{i}"), m.group(f"y{i}")) for i in (1, 2, 3) if m.group(f"v{i}"))
        before = text[max(previous_end, m.start() - WINDOW):m.start()]   # back to the previous citation at most
        previous_end = m.end()
        candidates = []
        for ref in refs:
            if ref["venue"] != venue or ref["year"] != year or ref["surnames"][0] not in before:
                continue
            # the larger share of the entry's authors named nearby wins ("et al." names them all, for three
            # or more): a first author may be another paper's co-author, or share a venue and year with himself
            if len(ref["surnames"]) > 2 and f"{ref['surnames'][0]} et al." in before:
                named = 1.0
            else:
                named = sum(surname in before for surname in ref["surnames"]) / len(ref["surnames"])
            candidates.append((named, before.rfind(ref["surnames"][0]), ref))
        if not candidates:
            unmatched.append(f"{venue} {year} after …{' '.join(before[-90:].split())}")
            continue
        top = max(c[:2] for c in candidates)
        best = [ref for named, at, ref in candidates if (named, at) == top]
        assert len(best) == 1, f"{venue} {year}: cannot tell {[r['title'] for r in best]} apart"
        found.append(best[0])
    return found, unmatched


def test_every_citation_in_every_lesson_is_in_references():
    refs = entries()
    assert len(refs) >= 30 and len({r["n"] for r in refs}) == len(refs)
    missing = {}
    for path in LESSONS:
        _, unmatched = citations(lesson_text(path), refs)
        if unmatched:
            missing[path.name] = unmatched
    assert not missing, missing


def test_the_used_in_column_lists_exactly_the_lessons_that_cite_each_entry():
    refs = entries()
    cited = {r["n"]: set() for r in refs}
    for path in LESSONS:
        for ref in citations(lesson_text(path), refs)[0]:
            cited[ref["n"]].add(path.name[:2])
    wrong = {r["n"]: (sorted(r["used"]), sorted(cited[r["n"]])) for r in refs if r["used"] != cited[r["n"]]}
    assert not wrong, f"entry: (REFERENCES.md says, the lessons cite it in) {wrong}"


def test_the_matcher_finds_a_citation_and_rejects_an_unknown_one():
    refs = entries()
    found, unmatched = citations("as Radford, Metz & Chintala (ICLR 2016) showed; but Nobody et al., ICLR 2016 "
                                 "is not in it, nor is Radford et al., ICLR 2012", refs)
    assert [r["title"] for r in found] == ["Unsupervised Representation Learning with Deep Convolutional "
                                           "Generative Adversarial Networks"]
    assert len(unmatched) == 2 and "Nobody" in unmatched[0] and "Radford et al." in unmatched[1]


def test_readme_links_the_references():
    assert "(REFERENCES.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
