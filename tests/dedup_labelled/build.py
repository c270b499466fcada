"""Build the labelled dedup set (cases.jsonl) deterministically from the seeds.

Run from the repository root: ``python tests/dedup_labelled/build.py``. Positives are
perturbations of the five seed bodies (the seed file minus its title line); negatives
are the hand-written articles in ``negatives/`` and combinations of them with seed
titles or one seed sentence. Same input, same output: randomness is seeded per case.
"""

from __future__ import annotations

import json
import random
import re
import textwrap
from pathlib import Path

import trafilatura

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parents[1] / "src" / "monitor" / "data" / "seeds"
NEGATIVES = HERE / "negatives"
OUT = HERE / "cases.jsonl"

POSITIVE_FAMILIES = (
    "syndicated", "typos", "normalisation", "teaser", "abridged", "reordered_wrapped",
    "paraphrased", "html_page", "quoted_in_commentary", "exact_copy",
)
NEGATIVE_FAMILIES = ("same_topic", "same_headline", "one_quoted_sentence", "retold")

_SENTENCE = re.compile(r"(?<=[.!?\"”])\s+(?=[A-Z“\"‘])")
_SYNONYMS = {
    "also": "as well", "said": "stated", "large": "big", "country": "nation", "many": "numerous",
    "including": "such as", "region": "area", "however": "though", "strengthen": "bolster",
    "support": "backing", "recent": "latest", "significant": "considerable", "growing": "rising",
    "between": "among", "against": "versus", "which": "that", "is": "remains", "has": "had",
    "the": "this", "to": "so as to", "in": "within", "of": "from", "and": "as well as",
}
_COMMENTARY_INTRO = (
    "Our readers keep asking why we return so often to the same handful of stories about "
    "Moscow and the western Balkans. The answer is that the arguments in them are repeated, "
    "almost word for word, by politicians in Belgrade, Banja Luka and Podgorica.\n\n"
    "Below we reproduce one such piece in full, because the details matter, and then explain "
    "where we think its author is right and where the picture is more complicated.\n\n"
)
_COMMENTARY_OUTRO = (
    "\n\nWhat the piece gets right is the sense of drift. Western capitals have spent a decade "
    "promising the region membership without setting dates, and that gap is where Russian "
    "influence grows.\n\n"
    "What it leaves out is the agency of local leaders, who use the Russian card to win votes "
    "and to bargain with Brussels. Treating them as passive targets explains little about why "
    "the same tactics work in one country and fail in the next."
)


def seed_bodies() -> dict[str, tuple[str, str]]:
    """Seed id -> (title line, body)."""
    out = {}
    for path in sorted(SEEDS.glob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        out[path.stem] = (title.strip(), body.strip())
    return out


def paragraphs(body: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]


def syndicated(title: str, body: str, rng: random.Random) -> str:
    outlet = rng.choice(["Balkan Wire", "Adriatic Daily", "Danube Post"])
    header = f"By Marko Petrovic | {outlet}\nPublished 14 March 2024\n\n{title}\n\n"
    footer = (
        "\n\nSubscribe to our newsletter for the day's Balkans news.\nShare this article\n"
        f"Related content\n© 2024 {outlet}. All rights reserved."
    )
    return header + body + footer


def typos(body: str, rng: random.Random) -> str:
    words = body.split(" ")
    for i in rng.sample(range(len(words)), k=max(1, len(words) // 50)):
        w = words[i]
        if len(w) > 4:
            j = rng.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def normalisation(body: str) -> str:
    text = body.replace("’", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r'"([^"\n]+)"', r"“\1”", text)  # re-curl the straight pairs
    # Swap the accented and plain spellings both ways, as copy desks do.
    text = re.sub(r"Vu[cč]i[cć]", lambda m: "Vucic" if "č" in m.group() else "Vučić", text)
    text = re.sub(r"\bNis\b", "Niš", text)
    text = text.replace(" - ", " — ").replace("Serbia ", "Serbia\u00a0").replace("&", "&amp;")
    return text.replace("\n\n", "\n\n\n")


def teaser(body: str) -> str:
    words = body.split(" ")
    return " ".join(words[: len(words) // 2]) + " …"


def abridged(body: str) -> str:
    paras = paragraphs(body)
    kept = [p for i, p in enumerate(paras) if i % 3 != 1] if len(paras) >= 3 else paras[:1]
    return "\n\n".join(kept)


def reordered_wrapped(body: str, rng: random.Random) -> str:
    paras = paragraphs(body)
    rng.shuffle(paras)
    return "\n\n".join(textwrap.fill(p, width=72) for p in paras)


def paraphrased(body: str, rng: random.Random) -> str:
    sentences = _SENTENCE.split(body)
    long_ones = [i for i, s in enumerate(sentences) if len(s.split()) >= 12]
    for i in rng.sample(long_ones, k=min(3, len(long_ones))):
        words = sentences[i].split(" ")
        words = [_SYNONYMS.get(w, w) for w in words]
        head, _, tail = " ".join(words).partition(", ")
        sentences[i] = f"{tail.rstrip('.')}, {head[0].lower()}{head[1:]}." if tail else " ".join(words)
    return " ".join(sentences)


def html_page(title: str, body: str) -> str:
    paras = "\n".join(f"<p>{p}</p>" for p in paragraphs(body))
    page = f"""<!DOCTYPE html><html><head><title>{title} | Balkan Wire</title></head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/politics">Politics</a></li>
<li><a href="/world">World</a></li><li><a href="/subscribe">Subscribe</a></li></ul></nav></header>
<main><article><h1>{title}</h1><p class="byline">By Ana Jovanovic, 3 May 2024</p>
{paras}
</article>
<aside><h3>Most read</h3><ul><li><a href="/a">Floods close the Ibar highway</a></li>
<li><a href="/b">Local elections called for June</a></li></ul></aside>
<section id="comments" class="comments"><h3>Comments</h3>
<div class="comment"><p>Zoran: Everyone knows who pays for these stories, and it is not the readers.</p></div>
<div class="comment"><p>Mila: I live in Nis and nobody here has ever seen this so-called centre.</p></div>
</section></main>
<footer><p>© 2024 Balkan Wire. All rights reserved.</p><a href="/privacy">Privacy</a></footer>
</body></html>"""
    text = trafilatura.extract(page, include_comments=False)
    if not text:
        raise SystemExit(f"trafilatura found no text in the page for {title!r}")
    return str(text)


def cases() -> list[dict[str, str | None]]:
    """Every labelled case, in a stable order."""
    seeds = seed_bodies()
    out: list[dict[str, str | None]] = []
    for seed_id, (title, body) in seeds.items():
        for family in POSITIVE_FAMILIES:
            rng = random.Random(f"{family}/{seed_id}")
            text = {
                "syndicated": lambda: syndicated(title, body, rng),
                "typos": lambda: typos(body, rng),
                "normalisation": lambda: normalisation(body),
                "teaser": lambda: teaser(body),
                "abridged": lambda: abridged(body),
                "reordered_wrapped": lambda: reordered_wrapped(body, rng),
                "paraphrased": lambda: paraphrased(body, rng),
                "html_page": lambda: html_page(title, body),
                "quoted_in_commentary": lambda: _COMMENTARY_INTRO + body + _COMMENTARY_OUTRO,
                "exact_copy": lambda: body,
            }[family]()
            out.append({"id": f"{family}/{seed_id}", "family": family, "expected": seed_id, "text": text})

    negatives = {p.stem: p.read_text(encoding="utf-8").strip() for p in sorted(NEGATIVES.glob("*.txt"))}
    topical = [k for k in negatives if "retold" not in k]
    for name in topical:
        out.append({"id": f"same_topic/{name}", "family": "same_topic", "expected": None, "text": negatives[name]})
    for i, (seed_id, (title, body)) in enumerate(seeds.items()):
        other = negatives[topical[i % len(topical)]].partition("\n")[2].strip()
        out.append({"id": f"same_headline/{seed_id}", "family": "same_headline", "expected": None,
                    "text": f"{title}\n\n{other}"})
        rng = random.Random(f"one_quoted_sentence/{seed_id}")
        sentence = rng.choice([s for s in _SENTENCE.split(body) if 15 <= len(s.split()) <= 40])
        paras = paragraphs(negatives[topical[(i + 1) % len(topical)]])
        paras.insert(2, f'As one widely shared article put it: "{sentence.strip()}"')
        out.append({"id": f"one_quoted_sentence/{seed_id}", "family": "one_quoted_sentence",
                    "expected": None, "text": "\n\n".join(paras)})
    for name in (k for k in negatives if "retold" in k):
        out.append({"id": f"retold/{name}", "family": "retold", "expected": None, "text": negatives[name]})
    return out


def render() -> str:
    """The cases as JSON lines (what cases.jsonl must contain)."""
    return "".join(json.dumps(c, ensure_ascii=False, sort_keys=True) + "\n" for c in cases())


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
