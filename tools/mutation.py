"""``make mutate``'s summary: the mutation score per module and every surviving mutant.

mutmut keeps one ``mutants/<path>.meta`` per mutated file (the exit code of
each mutant's test run: 1 killed, 0 survived, 33 no test calls the
function, 36 timeout...). This reads them, prints one line per module and
the survivors with the lines they change, and marks the survivors that
``docs/mutation.md`` already explains (by name), so a new one stands out.

    python -m tools.mutation [--min-score 85]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

MUTANTS = Path("mutants")
EXPLAINED = Path("docs/mutation.md")
#: mutmut's exit codes, grouped the way the score counts them.
#: A mutant that crashes the test process (SIGSEGV, -11: Hyperscan handed a mutated argument) is
#: caught as surely as one that fails an assertion: the run did not pass.
KILLED = {1, 3, -24, 24, 152, 255, 36, 37, -11}  # a failing test, pytest error, timeout, type check, segfault
SURVIVED = {0}
NO_TESTS = {33, 5}


@dataclass
class Module:
    path: str
    killed: int = 0
    survivors: list[str] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)
    other: dict[str, int | None] = field(default_factory=dict)  # not run yet, interrupted

    @property
    def total(self) -> int:
        return self.killed + len(self.survivors) + len(self.untested) + len(self.other)

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 100.0


def collect(root: Path = MUTANTS) -> list[Module]:
    modules = []
    for meta in sorted(root.rglob("*.py.meta")):
        module = Module(str(meta.relative_to(root))[: -len(".meta")])
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if code in KILLED:
                module.killed += 1
            elif code in SURVIVED:
                module.survivors.append(name)
            elif code in NO_TESTS:
                module.untested.append(name)
            else:
                module.other[name] = code
        if module.total:
            modules.append(module)
    return modules


#: The section of docs/mutation.md that lists survivors not yet explained (they still count as NEW).
PENDING = re.compile(r"^### Not worked out yet$.*?(?=^##)", re.MULTILINE | re.DOTALL)


def explained(path: Path = EXPLAINED) -> set[str]:
    """Mutant names that docs/mutation.md lists (in backticks) with their reason, but for those
    under "Not worked out yet"."""
    if not path.exists():
        return set()
    text = PENDING.sub("", path.read_text())
    return set(re.findall(r"`([\w.]+__mutmut_\d+)`", text))


def changed_lines(name: str, path: str) -> list[str]:
    """The lines a mutant removes and adds (mutmut's own diff), or nothing if it cannot tell."""
    try:
        from mutmut.__main__ import get_diff_for_mutant

        diff = get_diff_for_mutant(name, path=path)
    except Exception:  # noqa: BLE001 - the summary still stands without the diff
        return []
    return [line for line in diff.splitlines()
            if line[:1] in "-+" and not line.startswith(("---", "+++"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-score", type=float, default=0.0, help="exit 1 below this overall score (percent)")
    parser.add_argument("--no-diff", action="store_true", help="survivors by name only")
    args = parser.parse_args(argv)
    if not MUTANTS.is_dir():
        print("no mutants/ here: run `make mutate` (or `mutmut run`) first", file=sys.stderr)
        return 2
    modules, known = collect(), explained()
    width = max((len(m.path) for m in modules), default=10)
    print(f"{'module':<{width}}  mutants  killed  survived  no-test  other   score")
    for m in modules:
        print(f"{m.path:<{width}}  {m.total:7d}  {m.killed:6d}  {len(m.survivors):8d}  {len(m.untested):7d}  "
              f"{len(m.other):5d}  {m.score:5.1f}%")
    total = Module("all", sum(m.killed for m in modules), [s for m in modules for s in m.survivors],
                   [u for m in modules for u in m.untested], {k: v for m in modules for k, v in m.other.items()})
    print(f"{'all':<{width}}  {total.total:7d}  {total.killed:6d}  {len(total.survivors):8d}  "
          f"{len(total.untested):7d}  {len(total.other):5d}  {total.score:5.1f}%")
    unexplained = 0
    for m in modules:
        for name in m.survivors:
            mark = "explained" if name in known else "NEW"
            unexplained += name not in known
            print(f"\nsurvived [{mark}] {name}")
            if not args.no_diff:
                print("\n".join("    " + line for line in changed_lines(name, m.path)))
    untested = Counter(name.rsplit("__mutmut_", 1)[0] for name in total.untested)
    if untested:
        print("\nfunctions no selected test calls (their mutants count as not killed):")
        print("\n".join(f"    {function}: {n}" for function, n in sorted(untested.items())))
    if total.other:
        print(f"\n{len(total.other)} mutants not decided (not run yet or interrupted): run `make mutate` again")
    print(f"\n{unexplained} surviving mutants not explained in {EXPLAINED}")
    return 1 if total.score < args.min_score else 0


if __name__ == "__main__":
    sys.exit(main())
