"""Whole-process start of ``sparktriage classify`` against importing what it needs (issue 17).

Each figure is the best wall time of five fresh processes, and the least CPU
time (user + system: steadier on this shared machine), measured side by side
in one run: the yardstick ``python -c "import sklearn.linear_model,
sklearn.feature_extraction.text, hyperscan"``, ``classify`` on a small log
that a specific rule decides (no model), on one that needs the model, the
first start after the packs changed (an empty rule cache: lint and compile),
and a missing path.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
RULE_DECIDES = "24/03/12 10:11:13 ERROR Main: org.apache.hadoop.security.AccessControlException: Permission denied: user=etl\n"
MODEL_NEEDED = "24/03/12 10:11:13 ERROR Main: com.acme.store.ShardUnavailableException: shard 7 refused the write\n"


def best_wall(argv: list[str], runs: int = 5, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(best wall time, least CPU time) of ``runs`` fresh processes."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False, env=env)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def warm_rule_cache(folder: Path, log: Path) -> dict[str, str]:
    """The environment of a rule cache of this bench's own, filled by one untimed ``classify``: the shared
    one under the home folder keeps few entries, and other checkouts' packs evict this one's."""
    import os

    env = {**os.environ, "SPARKTRIAGE_RULES_CACHE": str(folder)}
    subprocess.run([str(BIN / "sparktriage"), "classify", str(log)], capture_output=True, check=True, env=env)
    return env


def main() -> None:
    import os

    with tempfile.TemporaryDirectory() as tmp:
        rule_log, model_log = Path(tmp) / "rule.log", Path(tmp) / "model.log"
        rule_log.write_text(RULE_DECIDES)
        model_log.write_text(MODEL_NEEDED)
        classify = [str(BIN / "sparktriage"), "classify"]
        warm = warm_rule_cache(Path(tmp) / "rule-cache", rule_log)
        imports = best_wall([sys.executable, "-c", "import sklearn.linear_model, sklearn.feature_extraction.text, hyperscan"])
        rule = best_wall(classify + [str(rule_log)], env=warm)
        model = best_wall(classify + [str(model_log)], env=warm)
        missing = best_wall(classify + [str(Path(tmp) / "nowhere.log")], env=warm)
        fresh = best_wall(classify + [str(rule_log)], runs=1,
                          env={**os.environ, "SPARKTRIAGE_RULES_CACHE": str(Path(tmp) / "empty-cache")})
    print("sparktriage classify, whole process, best of 5 (rule cache warm unless said); wall s, CPU s, ratios:")
    for name, (wall, cpu), target in (
        ("import sklearn + hyperscan (yardstick)", imports, ""),
        ("small log, a rule decides", rule, "(target ratio <= 1.5)"),
        ("small log, the model decides", model, "(target ratio <= 1.5)"),
        ("missing path", missing, "(target < 0.3 s)"),
        ("first start after a pack change (1 run)", fresh, "(lint and compile)"),
    ):
        print(f"  {name:42s} {wall:6.2f} {cpu:6.2f}  wall {wall / imports[0]:5.2f} CPU {cpu / imports[1]:5.2f}  {target}")

if __name__ == "__main__":
    main()
