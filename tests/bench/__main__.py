"""make bench: side-by-side benchmarks on the lab, printed with ratios and saved under bench/results/.

Environment: BENCH_POD_SIZES (default 100,1000,3000), BENCH_HELM_REPEATS (default 3),
BENCH_SITE_NODES (default 1,3,6), BENCH_SITE_CONNECTION (ssh|podman, default ssh), BENCH_POD_TOOLS (default: all
three), BENCH_ONLY (pods|helm|site; comma-separated)."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from tests.bench import helm as helm_bench
from tests.bench import pods as pods_bench
from tests.bench import site as site_bench
from tests.bench.common import ratio
from lab.cli import status as lab_status
from lab.config import CONFIG, ROOT

OUT = os.path.join(ROOT, "bench", "results")


def log(msg):
    print(msg, flush=True)


def pods_table(results):
    log("\n== pods_ready vs kubectl wait vs kubernetes.core.k8s_info ==")
    log("%-6s %-14s %9s %9s %9s %9s" % ("pods", "tool", "delay s", "requests", "cpu s", "wall s"))
    for r in results:
        row = (r["pods"], r["tool"], r["delay_s"], r["api_requests"], r["cpu_s"], r["wall_s"])
        log("%-6d %-14s %9s %9d %9.2f %9.2f" % row)
    log("ratios (other tool / pods_ready; > 1 means pods_ready is better):")
    for n in sorted({r["pods"] for r in results}):
        row = {r["tool"]: r for r in results if r["pods"] == n}
        ours = row.get("pods_ready")
        for other in ("kubectl wait", "k8s_info"):
            if ours and other in row and ours["delay_s"] is not None and row[other]["delay_s"] is not None:
                log("  %5d pods, %-12s delay x%.1f, requests x%.1f, cpu x%.1f" % (
                    n, other, ratio(row[other]["delay_s"], max(ours["delay_s"], 0.01)),
                    ratio(row[other]["api_requests"], ours["api_requests"]), ratio(row[other]["cpu_s"], ours["cpu_s"])))


def helm_table(results):
    log("\n== helm_release no-op vs kubernetes.core.helm no-op (same release; goal: <= 2 helm calls, x2 faster) ==")
    summary = {}
    for release in sorted({r["release"] for r in results}):
        summary[release] = {}
        for tool in ("ansible.builtin.ping", "helm_release", "kubernetes.core.helm"):
            runs = [r for r in results if r["tool"] == tool and r["release"] == release]
            summary[release][tool] = {"wall_s": statistics.median(r["wall_s"] for r in runs),
                                      "helm_calls": statistics.median(r["helm_calls"] for r in runs),
                                      "changed": any(r["changed"] for r in runs)}
        row = summary[release]
        log("%s:" % release)
        for tool, s in row.items():
            log("  %-22s median wall %.3fs, helm invocations %d, reported changed: %s" % (
                tool, s["wall_s"], s["helm_calls"], s["changed"]))
        ours, theirs, floor = row["helm_release"], row["kubernetes.core.helm"], row["ansible.builtin.ping"]["wall_s"]
        log("  ratio kubernetes.core.helm / helm_release: wall x%.2f (%s), above the ping floor x%.2f; "
            "helm invocations %d vs %d" % (
                ratio(theirs["wall_s"], ours["wall_s"]), "ok" if theirs["wall_s"] >= 2 * ours["wall_s"] else "MISSED",
                ratio(theirs["wall_s"] - floor, max(ours["wall_s"] - floor, 0.001)),
                theirs["helm_calls"], ours["helm_calls"]))
    return summary


def site_table(results):
    log("\n== site.yml on 1/3/6 lab nodes over %s (goals: re-run <= 25 %% of the first run, "
        "<= 10 %% per added node) ==" % site_bench.connection())
    log("%-6s %9s %9s %8s %s" % ("nodes", "first s", "rerun s", "changed", "ok"))
    for r in results:
        row = (r["nodes"], r["first_s"], r["rerun_s"], r["rerun_changed"], r["first_ok"] and r["rerun_ok"])
        log("%-6d %9.1f %9.1f %8d %s" % row)
    s = site_bench.summary(results)
    for n, share in sorted(s["rerun_share"].items()):
        log("  %d node(s): re-run takes x%.2f of the first run (%s)" % (n, share, "ok" if share <= 0.25 else "MISSED"))
    for n, extra in sorted(s["per_added_node"].items()):
        log("  %d nodes: each added node costs +%.1f %% of the 1-node run (%s); re-run +%.1f %%, "
            "controller CPU +%.1f %%" % (n, extra * 100, "ok" if extra <= 0.10 else "MISSED",
                                         s["per_added_node_rerun"].get(n, 0) * 100,
                                         s["per_added_node_controller_cpu"].get(n, 0) * 100))
    return s


def chart(data, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no PNG written")
        return
    fig, axes = plt.subplots(1, 3, figsize=(16, 4))
    pods = data.get("pods") or []
    for tool in pods_bench.TOOLS:
        rows = sorted((r for r in pods if r["tool"] == tool and r["delay_s"] is not None), key=lambda r: r["pods"])
        axes[0].plot([r["pods"] for r in rows], [r["delay_s"] for r in rows], marker="o", label=tool)
    axes[0].set(title="delay after the last pod is Ready", xlabel="pods", ylabel="seconds")
    axes[0].legend()
    helm = data.get("helm_summary") or {}
    width = 0.25
    for i, tool in enumerate(("ansible.builtin.ping", "helm_release", "kubernetes.core.helm")):
        axes[1].bar([j + i * width for j in range(len(helm))], [helm[r][tool]["wall_s"] for r in helm], width,
                    label=tool)
    axes[1].set_xticks([j + width for j in range(len(helm))], list(helm))
    axes[1].set(title="helm no-op run (median)", ylabel="seconds")
    axes[1].legend()
    site = data.get("site") or []
    axes[2].plot([r["nodes"] for r in site], [r["first_s"] for r in site], marker="o", label="first run")
    axes[2].plot([r["nodes"] for r in site], [r["rerun_s"] for r in site], marker="o", label="re-run")
    axes[2].set(title="site.yml", xlabel="nodes", ylabel="seconds")
    axes[2].legend()
    fig.tight_layout()
    fig.savefig(path)
    log("chart: %s" % path)


def main():
    if lab_status(CONFIG, quiet=True) != 0:
        subprocess.run([sys.executable, "-m", "lab", "up"], cwd=ROOT, check=True)
    os.makedirs(OUT, exist_ok=True)
    only = [o for o in os.environ.get("BENCH_ONLY", "").split(",") if o] or ["helm", "pods", "site"]
    data = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": os.uname().nodename}
    if "helm" in only:
        data["helm"] = helm_bench.run(int(os.environ.get("BENCH_HELM_REPEATS", "3")), log)
        data["helm_summary"] = helm_table(data["helm"])
    if "pods" in only:
        sizes = [int(s) for s in os.environ.get("BENCH_POD_SIZES", "100,1000,3000").split(",")]
        tools = [t for t in os.environ.get("BENCH_POD_TOOLS", "").split(",") if t] or list(pods_bench.TOOLS)
        data["pods"] = pods_bench.run(sizes, log, tools)
        pods_table(data["pods"])
    if "site" in only:
        sizes = [int(s) for s in os.environ.get("BENCH_SITE_NODES", "1,3,6").split(",")]
        data["site"] = site_bench.run(sizes, log, tempfile.mkdtemp(prefix="kaapana-bench-site-"))
        data["site_summary"] = site_table(data["site"])
    with open(os.path.join(OUT, "bench.json"), "w") as handle:
        json.dump(data, handle, indent=2)
    log("results: %s" % os.path.join(OUT, "bench.json"))
    chart(data, os.path.join(OUT, "bench.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
