"""The real corpus's checks and its split rule, so that every engineer who adds items places them alike.

``classifiers/corpus/real/{train,dev}.jsonl`` hold labelled excerpts of public
failure pastes (see its README). Two engineers may append to them at once and
resolve the conflict by keeping both sides' lines; ``dedupe`` then drops the
repeated (source, text) pairs and ``check`` says whether the files still
keep the rules: known labels, unique ids, no thread in both files, no thread
of ``shared/data/dev_real.jsonl`` (which measures and must never train),
no ``dev_real`` text under another source (a mirrored blog, a cross-posted issue),
and no train text that repeats a dev item of another source (a fork, a mirror, a
page that was split or renamed: one paste, two URLs, one on each side).
Sources are compared by ``sources.canonical`` (one name for every spelling
of a thread's URL: ``blob/master`` and ``blob/HEAD``, ``/pull/7`` and
``/issues/7``, a JIRA key with or without a query, ...).

The split is by source: a thread's items stay on the side the thread already
has; a new thread goes to ``dev`` while its label's dev share (counting what
is already placed) is below a third, taking new threads in the order of the
SHA-256 of their source's canonical name, so the rule is stable and needs no random state.

    python -m classifiers.corpus.realcorpus add new.jsonl   # place and append new items
    python -m classifiers.corpus.realcorpus dedupe          # after a rebase that kept both sides
    python -m classifiers.corpus.realcorpus check           # problems and per-label counts
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from classifiers.corpus.sources import canonical
from sparktriage.pipes import flushed, reader_gone
from sparktriage.taxonomy import CATEGORIES

REAL = Path(__file__).resolve().parent / "real"
PACKS = Path(__file__).resolve().parents[2] / "rules" / "packs"
DOC_PAGE = re.compile(r"/([^/?#]+\.(?:md|rst|adoc|html?|txt))(?:[?#].*)?$")
DEV_REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "dev_real.jsonl"
FIELDS = ("id", "source_url", "source_kind", "text", "label", "also_acceptable", "notes")
KINDS = ("github_issue", "github_pr", "repo_doc", "web_page", "mailing_list")
SIDES = ("train", "dev")
FRAME_LINE = re.compile(r"(at |\.\.\. \d+ more|Caused by:|Driver stacktrace)")

Item = dict[str, object]


def read(path: Path) -> list[Item]:
    """The items of one corpus file, in file order."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write(path: Path, items: list[Item]) -> None:
    path.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items))


def source(item: Item) -> str:
    """The canonical name of the thread or file an item was copied from."""
    return canonical(str(item["source_url"]))


def sources_of(path: Path) -> set[str]:
    """The canonical sources of a labelled set (empty when the file is absent, e.g. outside this machine)."""
    return {source(item) for item in read(path)} if path.exists() else set()


def signature(text: str) -> frozenset[str]:
    """The lines that identify a paste: message lines of 40+ characters, not stack frames or
    wrapper heads (those repeat across unrelated failures)."""
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line for line in lines if len(line) >= 40 and not FRAME_LINE.match(line))


def texts_of(path: Path) -> dict[str, frozenset[str]]:
    """The signatures of a labelled set's items by id (empty when the file is absent)."""
    return {str(item["id"]): signature(str(item["text"])) for item in read(path)} if path.exists() else {}


def echo(item: Item, measured: dict[str, frozenset[str]]) -> str | None:
    """The id of a measured item whose text this item repeats (two or more of its signature lines and
    at least four in five of them), whatever the URL: a mirror of a blog or a cross-posted issue is
    the same paste under another source name."""
    lines = signature(str(item["text"]))
    for name, other in measured.items():
        shared = len(lines & other)
        if shared >= 2 and 5 * shared >= 4 * len(lines):
            return name
    return None


def problems(sides: dict[str, list[Item]], forbidden_sources: set[str] = frozenset(),
             forbidden_texts: dict[str, frozenset[str]] | None = None) -> list[str]:
    """Every way the two files break the corpus's rules, one line each (empty when they keep them).

    ``forbidden_sources`` are canonical names (``sources_of``), ``forbidden_texts`` signatures
    (``texts_of``), both of the set that must stay out (dev_real.jsonl)."""
    found: list[str] = []
    ids: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    side_of: dict[str, set[str]] = defaultdict(set)
    for side, items in sides.items():
        for item in items:
            name = str(item.get("id"))
            if tuple(item) != FIELDS:
                found.append(f"{side}:{name}: fields {list(item)}, expected {list(FIELDS)}")
                continue
            ids[name] += 1
            pairs[(source(item), str(item["text"]))] += 1
            side_of[source(item)].add(side)
            if item["label"] not in CATEGORIES:
                found.append(f"{side}:{name}: label {item['label']!r} is not a taxonomy id")
            also = item["also_acceptable"]
            if not isinstance(also, list) or any(a not in CATEGORIES or a == item["label"] for a in also):
                found.append(f"{side}:{name}: also_acceptable {also!r} must list other taxonomy ids")
            if item["source_kind"] not in KINDS:
                found.append(f"{side}:{name}: source_kind {item['source_kind']!r} not one of {KINDS}")
            if not str(item["text"]).strip() or not str(item["notes"]).strip():
                found.append(f"{side}:{name}: empty text or notes")
            if source(item) in forbidden_sources:
                found.append(f"{side}:{name}: source {item['source_url']} belongs to dev_real.jsonl")
            repeated = echo(item, forbidden_texts or {})
            if repeated:
                found.append(f"{side}:{name}: text repeats dev_real.jsonl item {repeated}")
    dev_texts = {str(i.get("id")): signature(str(i["text"])) for i in sides.get("dev", []) if tuple(i) == FIELDS}
    dev_source = {str(i.get("id")): source(i) for i in sides.get("dev", []) if tuple(i) == FIELDS}
    for item in sides.get("train", []):
        if tuple(item) != FIELDS:
            continue
        others = {name: lines for name, lines in dev_texts.items() if dev_source[name] != source(item)}
        repeated = echo(item, others)
        if repeated:
            found.append(f"train:{item['id']}: text repeats dev item {repeated} under another source")
    found += [f"id {name} used {n} times" for name, n in ids.items() if n > 1]
    found += [f"{src}: the same text {n} times" for (src, _), n in pairs.items() if n > 1]
    found += [f"{src}: in both train and dev" for src, s in side_of.items() if len(s) > 1]
    return found


def dedupe(items: list[Item]) -> list[Item]:
    """The items without repeats of an earlier (source, text) pair, order kept."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for item in items:
        key = (source(item), str(item["text"]))
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def place(new: list[Item], sides: dict[str, list[Item]]) -> dict[str, list[Item]]:
    """The new items per side by the split rule (see the module docstring); known (source, text) pairs are skipped."""
    known = {(source(i), str(i["text"])) for items in sides.values() for i in items}
    placed_first: dict[str, tuple[str, str]] = {}  # source -> (side, label of its first item)
    for side, items in sides.items():
        for i in items:
            placed_first.setdefault(source(i), (side, str(i["label"])))
    side_of = {src: side for src, (side, _) in placed_first.items()}
    share: dict[str, Counter[str]] = defaultdict(Counter)  # label -> side -> sources
    for side, label in placed_first.values():
        share[label][side] += 1
    fresh = dedupe([i for i in new if (source(i), str(i["text"])) not in known])
    first_label: dict[str, str] = {}
    for item in fresh:
        first_label.setdefault(source(item), str(item["label"]))
    for src in sorted(set(first_label) - set(side_of), key=lambda s: hashlib.sha256(s.encode()).hexdigest()):
        counts = share[first_label[src]]
        side_of[src] = "dev" if 3 * counts["dev"] < counts["dev"] + counts["train"] + 1 else "train"
        counts[side_of[src]] += 1
    placed: dict[str, list[Item]] = {side: [] for side in SIDES}
    for item in fresh:
        placed[side_of[source(item)]].append(item)
    return placed


def cited_dev_pages(sides: dict[str, list[Item]], packs: Path = PACKS) -> list[str]:
    """Dev items copied from a documentation page that the rule packs name as a source, one line each.

    Rules are written from the sources' own documentation; a page they were written from measures
    nothing on the dev side (its error codes and messages are the rules' own examples), so such a
    page's items belong in train."""
    cited = "\n".join(path.read_text() for path in sorted(packs.glob("*.yaml")) + [packs / "PROVENANCE.md"]
                      if path.exists())
    found = []
    for item in sides.get("dev", []):
        page = DOC_PAGE.search(str(item.get("source_url", "")))
        if page and re.search(rf"(?<![\w.-]){re.escape(page.group(1))}(?![\w-])", cited):
            found.append(f"dev:{item['id']}: its page {page.group(1)} is a source the rule packs cite: move it to train")
    return found


def load(root: Path = REAL) -> dict[str, list[Item]]:
    return {side: read(root / f"{side}.jsonl") for side in SIDES}


def summary(sides: dict[str, list[Item]]) -> str:
    """Per-label counts (train, dev, total) and the totals, as the README quotes them."""
    per = {side: Counter(str(i["label"]) for i in items) for side, items in sides.items()}
    labels = sorted(set(per["train"]) | set(per["dev"]), key=lambda lab: (-(per["train"][lab] + per["dev"][lab]), lab))
    lines = [f"{lab:24} {per['train'][lab]:4} {per['dev'][lab]:4} {per['train'][lab] + per['dev'][lab]:5}" for lab in labels]
    total = {side: len(items) for side, items in sides.items()}
    lines.append(f"{'total':24} {total['train']:4} {total['dev']:4} {total['train'] + total['dev']:5}")
    missing = sorted(set(CATEGORIES) - set(labels))
    if missing:
        lines.append("absent: " + ", ".join(missing))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("add", "dedupe", "check"))
    parser.add_argument("new", nargs="?", type=Path, help="for add: a jsonl of new items")
    parser.add_argument("--root", type=Path, default=REAL, help="the corpus folder (default: %(default)s)")
    args = parser.parse_args(argv)
    sides = load(args.root)
    if args.command == "add":
        if args.new is None:
            parser.error("add needs a jsonl of new items, e.g. add /tmp/new.jsonl")
        placed = place(read(args.new), sides)
        sides = {side: sides[side] + placed[side] for side in SIDES}
        print(f"added {len(placed['train'])} to train, {len(placed['dev'])} to dev")
    elif args.command == "dedupe":
        sides = {side: dedupe(items) for side, items in sides.items()}
    found = problems(sides, sources_of(DEV_REAL), texts_of(DEV_REAL)) + cited_dev_pages(sides)
    if found:  # an add or dedupe that would break a rule (a dev_real thread, a repeated id) writes nothing
        print("\n".join(found) + ("" if args.command == "check" else "\nnothing written: drop or fix those items"))
        return 1
    if args.command != "check":
        for side in SIDES:
            write(args.root / f"{side}.jsonl", sides[side])
    print(summary(sides))
    return 0


if __name__ == "__main__":
    try:
        status = flushed(main())
    except BrokenPipeError:  # `... check | head -3`: the reader had enough
        status = reader_gone()
    sys.exit(status)
