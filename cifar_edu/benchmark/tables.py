"""Benchmark results as plain-text tables (what ``cifar-edu benchmark`` prints)."""

from __future__ import annotations

from typing import Any

__all__ = ["format_table", "format_inference"]


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{100 * value:.2f}%"
    if kind == "s":
        return f"{value:.0f}s" if value >= 10 else f"{value:.1f}s"
    if kind == "ms":
        return f"{value:.1f}ms"
    return f"{value:,.0f}"


def format_table(result: dict[str, Any]) -> str:
    """The benchmark result as a plain-text table (one row per recipe)."""
    columns = [("recipe", 12), ("seeds", 5), ("wall", 6), ("train", 6), ("exact acc", 13),
               ("full acc", 13),
               ("t->90%", 7), ("t->94%", 7), ("train img/s", 11), ("infer img/s", 11),
               ("p50", 7), ("p95", 7), ("peak RSS", 9), ("precision", 14)]
    lines = [f"CIFAR-10 benchmark on {result.get('data', '?')}",
             f"machine: {result.get('machine', {}).get('cpu', '?')}, "
             f"{result.get('machine', {}).get('cpu_count', '?')} CPUs, "
             f"GPUs: {', '.join(result.get('machine', {}).get('gpus', [])) or 'none'}", ""]
    lines.append("  ".join(f"{name:>{width}}" for name, width in columns))
    for rec in result["recipes"]:
        s, inf = rec["summary"], rec.get("inference", {})

        def pm(key: str) -> str:
            mean, std = s[key]["mean"], s[key]["std"]
            if mean is None:
                return "-"
            return f"{100 * mean:.2f}" + (f"±{100 * std:.2f}%" if rec["seeds"] > 1 else "%")

        cells = [rec["recipe"], str(rec["seeds"]), _fmt(s["wall_time_s"]["mean"], "s"),
                 _fmt(s["train_s"]["mean"], "s"),
                 pm("test_accuracy_exact"), pm("test_accuracy_full"),
                 _fmt(s["time_to_val_90_s"]["mean"], "s"), _fmt(s["time_to_val_94_s"]["mean"], "s"),
                 _fmt(s["train_images_per_s"]["mean"], "n"), _fmt(inf.get("images_per_s"), "n"),
                 _fmt(inf.get("latency_ms_p50"), "ms"), _fmt(inf.get("latency_ms_p95"), "ms"),
                 _fmt(s["peak_rss_mb"]["mean"], "n") + "MB" if s["peak_rss_mb"]["mean"] else "-",
                 str(rec.get("precision"))]
        lines.append("  ".join(f"{c:>{w}}" for c, (_, w) in zip(cells, columns)))
    lines.append("")
    lines.append("wall: cold start to finished run folder (mean over seeds); train: the "
                 "epochs alone; acc: final test "
                 "accuracy with the recipe's test-time augmentation, mean±std over seeds; exact: "
                 "byte-exact test rows (estimate of real accuracy), full: whole test set; "
                 "t->90%/94%: first epoch whose validation accuracy reached it (time from cold "
                 "start); p50/p95: latency of one image, warm.")
    return "\n".join(lines)


def format_inference(result: dict[str, Any]) -> str:
    """An inference-only benchmark as text: one line, or a table for a sweep over precisions."""
    if "runs" not in result:
        return (f"model {result.get('model', '?')} ({_fmt(result.get('parameters'), 'n')} "
                f"parameters, "
                f"{result['precision']}): {result['images_per_s']:,.0f} images/s at batch "
                f"{result['batch_size']:,}; one image {result['latency_ms_p50']:.1f} ms p50, "
                f"{result['latency_ms_p95']:.1f} ms p95 (warm)")
    size = (f", {result['model_bytes'] / 1e6:.1f} MB file" if result.get("model_bytes")
            else "")
    lines = [f"model {result.get('model', '?')} ({_fmt(result.get('parameters'), 'n')} "
             f"parameters{size}); "
             f"images per second by batch size, latency of one image (warm)", ""]
    sizes = sorted({r["batch_size"] for run in result["runs"] for r in run.get("sweep", [])})
    header = ([f"{'precision':<15}", f"{'XLA':>3}"] + [f"{'b=' + str(b):>8}" for b in sizes]
              + [f"{'p50':>7}", f"{'p95':>7}", f"{'1st call':>8}", f"{'GMAC/s':>7}",
                 f"{'conv':>7}"])
    lines.append("  ".join(header))
    for run in result["runs"]:
        rates = {r["batch_size"]: r["images_per_s"] for r in run.get("sweep", [])}
        cells = ([f"{run['precision']:<15}", f"{'yes' if run.get('jit_compile') else 'no':>3}"]
                 + [f"{_fmt(rates.get(b), 'n'):>8}" for b in sizes]
                 + [f"{_fmt(run['latency_ms_p50'], 'ms'):>7}",
                    f"{_fmt(run['latency_ms_p95'], 'ms'):>7}",
                    f"{_fmt(run.get('first_call_s'), 's'):>8}",
                    f"{_fmt(run.get('gmacs_per_s'), 'n'):>7}",
                    f"{_fmt(run.get('conv_gmacs_per_s'), 'n'):>7}"])
        lines.append("  ".join(cells))
    lines += ["", f"GMAC/s: billions of the model's multiply-adds per second at batch "
              f"{result.get('batch_size', '?')}; conv: the same in one large 3x3 convolution, "
              "about the most the model's convolutions can reach on this machine"]
    auto = result.get("auto_precision") or {}
    if auto:
        lines += ["", f"auto precision here: {auto.get('policy')} ({auto.get('reason')})"]
    return "\n".join(lines)
